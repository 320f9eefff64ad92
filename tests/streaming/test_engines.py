"""The batch-scoring callable on real engines in local mode: Ray Data and PySpark (``local[2]``).
Each answers as ``predict`` does, row for row."""

from __future__ import annotations

import csv
import os
import random

import numpy as np
import pytest
from helpers import KEYWORDS, make_sentence

from weighted_bert.cli import main
from weighted_bert.errors import UserError
from weighted_bert.streaming.batch import ANSWERS, BatchScorer


@pytest.fixture(scope="module")
def texts_and_expected(trained_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("engines")
    rng = random.Random(9)
    texts = [make_sentence(rng, rng.choice(list(KEYWORDS))) for _ in range(30)]
    (folder / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert main(["predict", "--model", str(trained_run), "--data", str(folder / "in.txt"), "--output",
                 str(folder / "p.tsv")]) == 0
    with (folder / "p.tsv").open(encoding="utf-8", newline="") as handle:
        expected = list(csv.DictReader(handle, delimiter="\t"))
    return texts, expected


def _check(frame, texts, expected):
    assert frame["text"].tolist() == texts
    assert frame["predicted_label"].tolist() == [r["predicted_label"] for r in expected]
    np.testing.assert_allclose(frame["probability"].to_numpy(dtype=float),
                               [float(r["probability"]) for r in expected], atol=1e-6)
    assert set(ANSWERS) <= set(frame.columns) and frame["windows"].tolist() == [1] * len(texts)


def test_batch_scorer_on_pandas_arrow_and_dicts(trained_run, texts_and_expected):
    import pandas
    import pyarrow

    texts, expected = texts_and_expected
    scorer = BatchScorer(trained_run, text_column="body")
    frame = pandas.DataFrame({"id": range(len(texts)), "body": texts})
    out = scorer(frame)
    _check(out.rename(columns={"body": "text"}), texts, expected)
    assert out["id"].tolist() == list(range(len(texts)))
    table = scorer(pyarrow.Table.from_pandas(frame))
    assert table.column("predicted_label").to_pylist() == out["predicted_label"].tolist()
    as_dict = scorer({"body": np.array(texts, dtype=object)})
    assert list(as_dict["predicted_label"]) == out["predicted_label"].tolist()
    with pytest.raises(UserError, match="no column 'text'"):
        BatchScorer(trained_run)(frame)


def test_ray_data_map_batches(trained_run, texts_and_expected):
    ray = pytest.importorskip("ray")
    texts, expected = texts_and_expected
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             ignore_reinit_error=True)
    try:
        import pandas

        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ds = ray.data.from_pandas(pandas.DataFrame({"text": texts}))
        out = ds.map_batches(BatchScorer, fn_constructor_kwargs={"model": str(trained_run)}, concurrency=1,
                             batch_size=8, batch_format="pandas").to_pandas()
    finally:
        ray.shutdown()
    _check(out, texts, expected)


def test_spark_map_in_pandas(trained_run, texts_and_expected):
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    texts, expected = texts_and_expected
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (SparkSession.builder.master("local[2]").appName("weighted-bert-test")
             .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    try:
        df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], ["id", "text"])
        scored = df.mapInPandas(BatchScorer.spark(model=str(trained_run)), schema=BatchScorer.spark_schema(df.schema))
        out = scored.toPandas().sort_values("id").reset_index(drop=True)
    finally:
        spark.stop()
    _check(out, texts, expected)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def engine_input(trained_run, tmp_path):
    """23 lines (chunks of 5: four full, one of 3) and the local engine's answers to them."""
    rng = random.Random(4)
    texts = [make_sentence(rng, rng.choice(list(KEYWORDS))) for _ in range(23)]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    base = ["predict", "--model", str(trained_run), "--data", str(tmp_path / "in.txt"), "--chunk-rows", "5"]
    assert main([*base, "--output", str(tmp_path / "local.tsv"), "--probabilities", str(tmp_path / "local_p.tsv")]) == 0
    return base, tmp_path


@pytest.mark.parametrize("engine", ["ray", "spark"])
def test_predict_on_an_engine_writes_the_local_engines_file(engine, engine_input, monkeypatch, capsys):
    pytest.importorskip("ray" if engine == "ray" else "pyspark")
    base, folder = engine_input
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--master local[2] --conf spark.ui.enabled=false pyspark-shell")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out, probabilities = folder / f"{engine}.tsv", folder / f"{engine}_p.tsv"
    assert main([*base, "--engine", engine, "--workers", "2", "--output", str(out), "--probabilities",
                 str(probabilities)]) == 0
    assert out.read_bytes() == (folder / "local.tsv").read_bytes()  # the same rows, in the input's order
    np.testing.assert_allclose(np.loadtxt(probabilities), np.loadtxt(folder / "local_p.tsv"), atol=1e-6)
    assert not (folder / f"{engine}.tsv.parts").exists()

    # a bad line read by a worker: the driver says it as the local engine would, and leaves no output
    lines = (folder / "in.txt").read_text().splitlines()
    (folder / "bad.tsv").write_text("text\tlabel\n" + "".join(f"{t}\tsport\n" for t in lines[:12]) +
                                    "only\ttoo\tmany\n", encoding="utf-8")
    capsys.readouterr()
    bad = ["predict", "--model", base[2], "--data", str(folder / "bad.tsv"), "--engine", engine, "--workers", "2",
           "--output", str(folder / "bad_out.tsv")]
    assert main(bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: {folder / 'bad.tsv'}, line 14:"), err[-3:]
    assert not (folder / "bad_out.tsv").exists()


def test_engine_settings_and_unreachable_clusters_are_one_line_each(engine_input, monkeypatch, capsys):
    base, folder = engine_input
    out = folder / "o.tsv"
    assert main([*base, "--workers", "2", "--output", str(out)]) == 2
    assert "is for --engine ray or spark" in capsys.readouterr().err
    assert main([*base, "--engine", "dask", "--output", str(out)]) == 2
    port = _free_port()  # nothing listens there
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    assert main([*base, "--engine", "ray", "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: RAY_ADDRESS 127.0.0.1:{port}: nothing answers there"), err[-2:]
    monkeypatch.delenv("RAY_ADDRESS")
    monkeypatch.setenv("MASTER", f"spark://127.0.0.1:{port}")
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    assert main([*base, "--engine", "spark", "--output", str(out)]) == 2
    assert "the Spark master 127.0.0.1:" in capsys.readouterr().err
    assert not out.exists() and not (folder / "o.tsv.parts").exists()
