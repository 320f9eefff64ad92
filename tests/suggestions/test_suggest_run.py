"""``weighted-bert suggest`` end to end on the toy task's trained model."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from helpers import KEYWORDS, make_sentence

from weighted_bert.cli import main


def _pool(path: Path, training: Path, n: int = 40) -> list[str]:
    rng = random.Random(11)
    texts = [make_sentence(rng, label) for label in KEYWORDS for _ in range(n // 3)]
    texts += [line.split("\t")[0] for line in training.read_text(encoding="utf-8").splitlines()[:5]]  # labelled
    texts += [texts[0].upper() + "!"]  # a near-duplicate of the first
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return texts


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_suggest_writes_the_picks_with_their_reasons(trained_run, toy_data_dir, tmp_path, capsys):
    texts = _pool(tmp_path / "pool.txt", toy_data_dir / "train_data.txt")
    out = tmp_path / "picks.tsv"
    # the tiny model's embeddings are alike for most texts: only the textual near-duplicate is left out here
    # (the embedding rule is worked by hand in test_suggestion_rules.py)
    assert main(["suggest", "--model", str(trained_run), "--pool", str(tmp_path / "pool.txt"), "--budget", "12",
                 "--output", str(out), "--near-duplicate", "1"]) == 0
    assert "picked 12 text(s)" in capsys.readouterr().out
    picks = _read(out)
    assert list(picks[0]) == ["text", "predicted_label", "probability", "reason", "strategy", "line"]
    assert len(picks) == 12 and {p["strategy"] for p in picks} == {"balanced-uncertainty"}
    labelled = {line.split("\t")[0] for line in (toy_data_dir / "train_data.txt").read_text().splitlines()}
    assert not any(p["text"] in labelled for p in picks)  # already labelled: skipped
    assert len({p["text"].lower().strip("!") for p in picks}) == 12  # no near-duplicates
    for p in picks:
        assert texts[int(p["line"]) - 1] == p["text"] and 0 < float(p["probability"]) <= 1
    # rarest class first: weather has 10 training rows against 32 and 96
    assert picks[0]["predicted_label"] == "weather" and "10 training rows" in picks[0]["reason"]

    jsonl = tmp_path / "picks.jsonl"
    assert main(["suggest", "--model", str(trained_run), "--pool", str(tmp_path / "pool.txt"), "--budget", "5",
                 "--strategy", "random", "--output", str(jsonl)]) == 0
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5 and set(rows[0]) == {"text", "label", "meta"} and rows[0]["meta"]["strategy"] == "random"
    assert isinstance(rows[0]["label"], list) and rows[0]["label"][0] in KEYWORDS


def test_suggest_says_what_is_wrong_with_its_input(trained_run, toy_data_dir, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert main(["suggest", "--model", str(trained_run), "--pool", str(empty), "--budget", "3", "--output",
                 str(tmp_path / "o.tsv")]) == 2
    assert "empty" in capsys.readouterr().err
    labelled = tmp_path / "labelled.txt"
    labelled.write_text("\n".join(line.split("\t")[0] for line in (toy_data_dir / "train_data.txt").read_text()
                                  .splitlines()[:4]) + "\n", encoding="utf-8")
    assert main(["suggest", "--model", str(trained_run), "--pool", str(labelled), "--budget", "2", "--output",
                 str(tmp_path / "o.tsv")]) == 2
    assert "already in the training data" in capsys.readouterr().err
    _pool(tmp_path / "pool.txt", toy_data_dir / "train_data.txt", n=6)
    assert main(["suggest", "--model", str(trained_run), "--pool", str(tmp_path / "pool.txt"), "--budget", "500",
                 "--output", str(tmp_path / "o.tsv")]) == 2
    err = capsys.readouterr().err
    assert "budget 500 is more than the 7 texts" in err and not (tmp_path / "o.tsv").exists()


def test_python_api_suggest(trained_run, toy_data_dir):
    import weighted_bert

    rng = random.Random(2)
    texts = [make_sentence(rng, label) for label in KEYWORDS for _ in range(5)]
    picks = weighted_bert.suggest(trained_run, texts, budget=4, strategy="uncertainty", near_duplicate=1.0)
    assert len(picks) == 4 and all(p["text"] in texts for p in picks)
    margins = [float(p["reason"].split()[1]) for p in picks]
    assert margins == sorted(margins)  # the least sure first
