"""``weighted-bert audit`` end to end on the toy task with labels flipped on purpose, and
``train --exclude`` and ``train --relabel`` on what it writes."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from helpers import KEYWORDS, TRAIN_COUNTS, TRAIN_FLAGS, write_split

from weighted_bert.cli import main

FLIPS = 8


def _flipped_data(folder: Path) -> dict[int, str]:
    """The toy split with FLIPS training labels changed to another class; returns line -> true label."""
    rng = random.Random(3)
    folder.mkdir()
    write_split(folder / "train_data.txt", rng, TRAIN_COUNTS)
    write_split(folder / "dev_data.txt", rng, dict.fromkeys(KEYWORDS, 10))
    write_split(folder / "test_data.txt", rng, dict.fromkeys(KEYWORDS, 12))
    lines = (folder / "train_data.txt").read_text(encoding="utf-8").splitlines()
    flipped = {}
    for i in rng.sample(range(20, len(lines)), FLIPS):  # lines 5, 6 and 11 are for the near-duplicate and leakage
        text, label = lines[i].split("\t")
        lines[i] = f"{text}\t{rng.choice([c for c in KEYWORDS if c != label])}"
        flipped[i + 1] = label
    lines[5] = lines[4].split("\t")[0].upper() + "!\t" + ("sport" if lines[4].split("\t")[1] != "sport" else "finance")
    (folder / "train_data.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    test = (folder / "test_data.txt").read_text(encoding="utf-8").splitlines()
    test[0] = lines[10]  # a training row repeated in test: leakage
    (folder / "test_data.txt").write_text("\n".join(test) + "\n", encoding="utf-8")
    return flipped


def _read_tsv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def audited(tmp_path_factory, tiny_bert):
    root = tmp_path_factory.mktemp("audit")
    flipped = _flipped_data(root / "data")
    output = root / "audit"
    assert main(["audit", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir", str(output),
                 "--folds", "3", *TRAIN_FLAGS]) == 0
    return root, output, flipped


def test_the_flipped_rows_come_first(audited):
    root, output, flipped = audited
    rows = _read_tsv(output / "label_issues.tsv")
    assert list(rows[0]) == ["line", "text", "given_label", "suggested_label", "score", "issue", "shots",
                             "class_count"]
    assert len(rows) == sum(TRAIN_COUNTS.values())  # every training row, none lost
    assert sorted(int(r["line"]) for r in rows) == list(range(1, len(rows) + 1))
    from sklearn.metrics import roc_auc_score

    wrong = [int(r["line"]) in flipped for r in rows]
    auroc = roc_auc_score(wrong, [-float(r["score"]) for r in rows])
    assert auroc >= 0.9, auroc
    flagged = {int(r["line"]) for r in rows if r["issue"] == "yes"}
    assert len(flagged & set(flipped)) >= FLIPS // 2
    for r in rows:
        if int(r["line"]) in flipped and r["issue"] == "yes":
            assert r["suggested_label"] == flipped[int(r["line"])]  # it names the true class
    few = [r for r in rows if r["shots"] == "few"]
    assert {r["class_count"] for r in few} == {str(n) for n in {sum(1 for x in rows if x["given_label"] == r[
        "given_label"]) for r in few}}
    issues = [r["issue"] for r in rows]
    assert issues == sorted(issues, reverse=True)  # the flagged ("yes") rows first


def test_the_report_and_summary_say_what_was_found(audited):
    root, output, flipped = audited
    summary = json.loads((output / "audit.json").read_text(encoding="utf-8"))
    assert summary["folds"] == 3 and summary["rows"] == sum(TRAIN_COUNTS.values())
    assert summary["flagged"] == sum(r["issue"] == "yes" for r in _read_tsv(output / "label_issues.tsv"))
    assert summary["leakage"]["test"]["repeated"] >= 1 and summary["leakage"]["dev"]["repeated"] == 0
    assert any(set(g["lines"]) == {5, 6} for g in summary["near_duplicates"])  # line 6 = line 5 shouted
    page = (output / "report.html").read_text(encoding="utf-8")
    for section in ("by-shots", "worst", "pairs", "per-class", "conflicts", "leakage"):
        assert f"id='{section}'" in page
    assert not list((output / "folds").glob("fold*/model"))  # the fold models are gone once they have judged


def test_an_audit_run_again_keeps_its_folds(audited, tiny_bert, capsys):
    root, output, _ = audited
    before = (output / "label_issues.tsv").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["audit", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir", str(output),
                 "--folds", "3", *TRAIN_FLAGS]) == 0
    assert capsys.readouterr().err.count("finished earlier, kept") == 3
    assert (output / "label_issues.tsv").read_text(encoding="utf-8") == before
    # with other settings the kept folds would stand beside runs of another plan: refused
    assert main(["audit", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir", str(output),
                 "--folds", "3", *TRAIN_FLAGS, "--loss", "focal"]) == 2
    assert "finished earlier with other settings or data (loss" in capsys.readouterr().err


def test_train_exclude_leaves_out_the_flagged_rows_and_says_so(audited, tiny_bert, tmp_path):
    root, output, _ = audited
    issues = output / "label_issues.tsv"
    flagged = [r for r in _read_tsv(issues) if r["issue"] == "yes"]
    run = tmp_path / "run"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir", str(run),
                 "--exclude", str(issues), *TRAIN_FLAGS, "--epochs", "1"]) == 0
    excluded = _read_tsv(run / "excluded_rows.tsv")
    assert [r["line"] for r in excluded] == [r["line"] for r in flagged]
    info = json.loads((run / "model" / "weighted_bert.json").read_text(encoding="utf-8"))
    assert sum(info["class_counts"]) == sum(TRAIN_COUNTS.values()) - len(flagged)
    settings = json.loads((run / "run_summary.json").read_text(encoding="utf-8"))["settings"]
    assert settings["exclude"] == str(issues)

    top = tmp_path / "top"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir", str(top),
                 "--exclude", str(issues), "--exclude-top", "3", *TRAIN_FLAGS, "--epochs", "1"]) == 0
    assert len(_read_tsv(top / "excluded_rows.tsv")) == 3


def test_an_exclude_file_that_does_not_match_the_training_file_stops_the_run(audited, tiny_bert, tmp_path, capsys):
    root, output, _ = audited
    rows = (output / "label_issues.tsv").read_text(encoding="utf-8").splitlines()
    cells = rows[1].split("\t")
    for name, change, expected in (("gone", lambda c: ["9999"] + c[1:], "names line 9999 of"),
                                   ("changed", lambda c: [c[0], c[1] + " edited"] + c[2:], "whose text differs")):
        bad = tmp_path / f"{name}.tsv"
        bad.write_text("\n".join([rows[0], "\t".join(change(cells))]) + "\n", encoding="utf-8")
        assert main(["train", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir",
                     str(tmp_path / name), "--exclude", str(bad), *TRAIN_FLAGS]) == 2
        err = capsys.readouterr().err
        assert f"{bad}, line 2: " in err and expected in err
        assert not (tmp_path / name).exists()
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir",
                 str(tmp_path / "x"), "--exclude-top", "2", *TRAIN_FLAGS]) == 2
    assert "give --exclude" in capsys.readouterr().err


def test_train_relabel_gives_the_flagged_rows_the_suggested_label_and_says_so(audited, tiny_bert, tmp_path):
    root, output, flipped = audited
    issues = output / "label_issues.tsv"
    flagged = [r for r in _read_tsv(issues) if r["issue"] == "yes"]
    run = tmp_path / "run"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir", str(run),
                 "--relabel", str(issues), *TRAIN_FLAGS, "--epochs", "1"]) == 0
    changed = _read_tsv(run / "relabelled_rows.tsv")
    assert [(r["line"], r["given_label"], r["suggested_label"]) for r in changed] == [
        (r["line"], r["given_label"], r["suggested_label"]) for r in flagged]
    # the counts the run trained on: the training file's labels with the flagged rows' suggestions in their place
    suggested = {int(r["line"]): r["suggested_label"] for r in flagged}
    rows = (root / "data" / "train_data.txt").read_text(encoding="utf-8").splitlines()
    expected = Counter(suggested.get(i, line.split("\t")[1]) for i, line in enumerate(rows, start=1))
    info = json.loads((run / "model" / "weighted_bert.json").read_text(encoding="utf-8"))
    labels = json.loads((run / "label_map.json").read_text(encoding="utf-8"))["labels"]
    assert dict(zip(labels, info["class_counts"])) == {label: expected[label] for label in labels}
    assert sum(info["class_counts"]) == sum(TRAIN_COUNTS.values())  # no row lost
    assert sum(suggested.get(line) == truth for line, truth in flipped.items()) >= FLIPS // 2  # flips put right
    settings = json.loads((run / "run_summary.json").read_text(encoding="utf-8"))["settings"]
    assert settings["relabel"] == str(issues) and settings["exclude"] is None
    assert not (run / "excluded_rows.tsv").exists()


def test_a_relabel_file_that_does_not_fit_stops_the_run(audited, tiny_bert, tmp_path, capsys):
    root, output, _ = audited
    rows = (output / "label_issues.tsv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")
    cells = dict(zip(header, rows[1].split("\t")))
    other = next(r.split("\t")[header.index("given_label")] for r in rows[1:]
                 if r.split("\t")[header.index("given_label")] not in (cells["given_label"], cells["suggested_label"]))
    for name, change, expected in (
            ("given", {"given_label": other}, f"gives it {cells['given_label']!r}, not {other!r}"),
            ("same", {"suggested_label": cells["given_label"]}, "suggests the label it has"),
            ("empty", {"suggested_label": ""}, "suggests no label"),
            ("unknown", {"suggested_label": "astrology"}, "'astrology', which no training row has")):
        bad = tmp_path / f"{name}.tsv"
        bad.write_text("\n".join([rows[0], "\t".join({**cells, "issue": "yes", **change}[c] for c in header)])
                       + "\n", encoding="utf-8")
        assert main(["train", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir",
                     str(tmp_path / name), "--relabel", str(bad), *TRAIN_FLAGS]) == 2
        err = capsys.readouterr().err
        assert f"{bad}, line 2: " in err and expected in err, err
        assert not (tmp_path / name).exists()
    issues = str(output / "label_issues.tsv")
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir",
                 str(tmp_path / "both"), "--exclude", issues, "--relabel", issues, *TRAIN_FLAGS]) == 2
    assert "give one of them" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:  # the audit judges every row as given: it has no such flag
        main(["audit", "--model", str(tiny_bert), "--data-dir", str(root / "data"), "--output-dir",
              str(tmp_path / "audit"), "--relabel", issues, *TRAIN_FLAGS])
    assert stopped.value.code == 2 and "unrecognized arguments: --relabel" in capsys.readouterr().err


def test_relabelling_multi_label_data_is_refused(tiny_bert, toy_multilabel_dir, tmp_path, capsys):
    issues = tmp_path / "label_issues.tsv"
    issues.write_text("line\ttext\tgiven_label\tsuggested_label\tscore\tissue\n1\tx\ta\tb\t0.1\tyes\n",
                      encoding="utf-8")
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_multilabel_dir), "--output-dir",
                 str(tmp_path / "run"), "--relabel", str(issues), *TRAIN_FLAGS]) == 2
    assert "single-label" in capsys.readouterr().err


def test_data_an_audit_cannot_judge_is_refused(tiny_bert, toy_multilabel_dir, tmp_path, capsys):
    one = tmp_path / "one"
    one.mkdir()
    (one / "train.tsv").write_text("text\tlabel\n" + "".join(f"goal match {i}\tsport\n" for i in range(6)))
    assert main(["audit", "--model", str(tiny_bert), "--data-dir", str(one), "--output-dir", str(tmp_path / "o1"),
                 *TRAIN_FLAGS]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["audit", "--model", str(tiny_bert), "--data-dir", str(toy_multilabel_dir), "--output-dir",
                 str(tmp_path / "o2"), *TRAIN_FLAGS]) == 2
    assert "single-label" in capsys.readouterr().err
    foreign = tmp_path / "o3"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert main(["audit", "--model", str(tiny_bert), "--data-dir", str(one), "--output-dir", str(foreign),
                 *TRAIN_FLAGS]) == 2
    assert "notes.txt" in capsys.readouterr().err and (foreign / "notes.txt").read_text() == "mine"


def test_a_class_with_one_row_is_listed_unjudged(tiny_bert, tmp_path):
    import weighted_bert

    rng = random.Random(5)
    rows = [(" ".join(rng.sample(KEYWORDS[c], 2) + ["the", "news"]), c) for c in ("sport", "finance")
            for _ in range(12)] + [("snow and wind today", "weather")]
    frame = weighted_bert.audit(rows, model=str(tiny_bert), folds=3, epochs=2, learning_rate=3e-3,
                                head_learning_rate=None, batch_size=8, progress=False, precision="fp32")
    assert list(frame.columns) == ["line", "text", "given_label", "suggested_label", "score", "issue", "shots",
                                   "class_count"]
    assert len(frame) == 25
    last = frame.iloc[-1]
    assert last["given_label"] == "weather" and last["score"] != last["score"] and not last["issue"]  # NaN score
