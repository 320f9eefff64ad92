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
