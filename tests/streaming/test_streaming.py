"""Streaming ``predict``: chunks, shards, resume, Parquet and JSONL, and what it refuses."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from helpers import KEYWORDS, make_sentence

from weighted_bert.cli import main
from weighted_bert.data import Columns
from weighted_bert.errors import UserError
from weighted_bert.streaming import Shard, parse_shard
from weighted_bert.streaming.sources import chunks, still_quoted


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_shards_are_parsed_and_checked():
    assert parse_shard("1/4") == Shard(1, 4) and parse_shard(None) == Shard(0, 1)
    assert [i for i in range(10) if parse_shard("1/3").mine(i)] == [1, 4, 7]
    for bad in ("3/2", "2/2", "1-2", "a/b", "0/0"):
        with pytest.raises(UserError, match="--shard"):
            parse_shard(bad)


def test_chunks_keep_the_files_line_numbers(tmp_path):
    lines = ["text\tlabel"] + [f"row {i}\tsport" for i in range(1, 8)]
    lines[4] = ""  # a blank line is not a row
    lines.insert(6, '"a quoted\ttext\nover two lines"\tfinance')  # never cut inside quotes
    path = tmp_path / "data.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = dict(labels="optional", columns=Columns())
    got = [(i, load()) for i, load in chunks(path, chunk_rows=3, read_options=options, pair=False)]
    assert [len(c.dataset) for _, c in got] == [3, 3, 1]
    lines_of = [[e.line for e in c.dataset.examples] for _, c in got]
    assert lines_of == [[2, 3, 4], [6, 7, 9], [10]]  # line 5 blank; the quoted row spans lines 7-8
    assert got[1][1].dataset.examples[1].text == "a quoted\ttext\nover two lines"
    texts = [e.text for _, c in got for e in c.dataset.examples]
    assert texts == ["row 1", "row 2", "row 3", "row 5", "a quoted\ttext\nover two lines", "row 6", "row 7"]


def test_a_quote_holds_a_chunk_open_only_where_csv_would_read_a_quoted_field(tmp_path):
    tab = ord("\t")
    assert still_quoted(b'"opens\tx\n', tab, False)  # a quote at a field's start opens it
    assert still_quoted(b'a\t"opens\n', tab, False)
    assert not still_quoted(b'a 5" screen\tx\n', tab, False)  # inside an unquoted field: a character
    assert not still_quoted(b'"closed ""quoted"" word"\tx\n', tab, False)  # "" is a quote
    assert still_quoted(b'still ""open\n', tab, True) and not still_quoted(b'ends"\tx\n', tab, True)
    # the seed format is a row a line whatever its quotes (its reader strips an enclosing pair only)
    seed = ['"what\'s the method\tsport', 'a 5" screen\tsport', '"quoted"\tsport', "last\tsport"]
    tsv = ["plain\tsport", '"a ""quoted"" word"\tsport', '"quoted"\tsport', "last\tsport"]
    for name, head, rows in (("data.txt", "", seed), ("data.tsv", "text\tlabel\n", tsv)):
        (tmp_path / name).write_text(head + "\n".join(rows * 3) + "\n", encoding="utf-8")
        got = [load() for _, load in chunks(tmp_path / name, chunk_rows=2, read_options=dict(
            labels="optional", columns=Columns()), pair=False)]
        assert [len(c.dataset) for c in got] == [2] * 6, name


def _inputs(folder: Path, n: int = 23) -> list[str]:
    rng = random.Random(4)
    texts = [make_sentence(rng, rng.choice(list(KEYWORDS))) for _ in range(n)]
    (folder / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    return texts


def test_chunked_sharded_and_resumed_predictions_equal_one_pass(trained_run, tmp_path, monkeypatch):
    texts = _inputs(tmp_path)
    base = ["predict", "--model", str(trained_run), "--data", str(tmp_path / "in.txt")]
    assert main([*base, "--output", str(tmp_path / "whole.tsv"), "--probabilities", str(tmp_path / "whole_p.tsv")]) == 0
    whole = _read(tmp_path / "whole.tsv")
    assert [r["text"] for r in whole] == texts
    assert main([*base, "--output", str(tmp_path / "chunked.tsv"), "--chunk-rows", "5", "--probabilities",
                 str(tmp_path / "chunked_p.tsv")]) == 0
    assert _read(tmp_path / "chunked.tsv") == whole
    np.testing.assert_allclose(np.loadtxt(tmp_path / "chunked_p.tsv"), np.loadtxt(tmp_path / "whole_p.tsv"),
                               atol=1e-6)
    shards = []
    for i in range(2):
        assert main([*base, "--output", str(tmp_path / f"s{i}.tsv"), "--chunk-rows", "5", "--shard", f"{i}/2"]) == 0
        shards.append(_read(tmp_path / f"s{i}.tsv"))
    assert [len(s) for s in shards] == [5 + 5 + 3, 5 + 5]  # chunks 0, 2, 4 and 1, 3
    assert sorted(r["text"] for s in shards for r in s) == sorted(texts)  # every row once

    # killed after two chunks: the parts stay, the output is not there; --resume finishes it
    from weighted_bert.classifier import Classifier

    answer, calls = Classifier.answer, []

    def dying(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return answer(self, *args, **kwargs)

    monkeypatch.setattr(Classifier, "answer", dying)
    out = tmp_path / "resumed.tsv"
    assert main([*base, "--output", str(out), "--chunk-rows", "5"]) == 130
    assert not out.exists() and len(list((tmp_path / "resumed.tsv.parts").glob("part-*.tsv"))) == 2
    monkeypatch.setattr(Classifier, "answer", answer)
    assert main([*base, "--output", str(out), "--chunk-rows", "5"]) == 2  # parts there: --resume, or remove them
    assert main([*base, "--output", str(out), "--chunk-rows", "7", "--resume"]) == 2  # another plan
    assert main([*base, "--output", str(out), "--chunk-rows", "5", "--resume"]) == 0
    assert _read(out) == whole and not (tmp_path / "resumed.tsv.parts").exists()
    assert main([*base, "--output", str(out)]) == 2  # a finished output is not written over ...
    assert main([*base, "--output", str(out), "--overwrite"]) == 0  # ... unless asked


def test_parquet_and_jsonl_with_an_id_column(trained_run, tmp_path, capsys):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    texts = _inputs(tmp_path, 12)
    ids = [f"doc-{i}" for i in range(12)]
    pq.write_table(pyarrow.table({"id": ids, "body": texts}), tmp_path / "in.parquet", row_group_size=5)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"id": i, "body": t}) + "\n" for i, t in zip(ids, texts)))
    base = ["predict", "--model", str(trained_run), "--text-column", "body", "--id-column", "id", "--chunk-rows", "4"]
    assert main([*base, "--data", str(tmp_path / "in.parquet"), "--output", str(tmp_path / "out.parquet")]) == 0
    table = pq.read_table(tmp_path / "out.parquet").to_pydict()
    assert table["id"] == ids and table["text"] == texts and all(0 < p <= 1 for p in table["probability"])
    assert main([*base, "--data", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.tsv")]) == 0
    rows = _read(tmp_path / "out.tsv")
    assert [r["id"] for r in rows] == ids
    assert [r["predicted_label"] for r in rows] == table["predicted_label"]
    assert main(["predict", "--model", str(trained_run), "--data", str(tmp_path / "in.parquet"), "--output",
                 str(tmp_path / "o.tsv")]) == 2
    err = capsys.readouterr().err
    assert "has no column 'text' (--text-column); its columns: id, body" in err
    assert not (tmp_path / "o.tsv").exists() and not (tmp_path / "o.tsv.parts").exists()
