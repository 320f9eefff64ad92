"""The model card: Hub metadata that huggingface_hub parses, and per-class numbers equal to
the run's own results."""

import json
import shutil

import pytest

from weighted_bert.cli import main


def card_rows(text, heading):
    """The rows of the markdown table under ``heading``."""
    lines = text.split(heading, 1)[1].strip().splitlines()
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:] if line.startswith("|")]


def test_the_card_has_hub_metadata_and_the_runs_numbers(trained_run):
    from huggingface_hub import ModelCard

    card = ModelCard.load(trained_run / "model" / "README.md")
    data = card.data.to_dict()
    assert data["pipeline_tag"] == "text-classification" and data["library_name"] == "transformers"
    results = json.loads((trained_run / "test_results.json").read_text())
    found = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert found["accuracy"] == round(results["test_accuracy"], 4)
    assert found["macro_f1"] == round(results["test_macro_f1"], 4)
    rows = card_rows(card.text, "## Per class (weakest first)")
    per_class = {r["label"]: r for r in results["test_per_class"]}
    assert sorted(r[0] for r in rows) == sorted(per_class)
    assert [float(r[5]) for r in rows] == sorted(float(r[5]) for r in rows)  # weakest first
    for label, count, group, precision, recall, f1, support in rows:
        expected = per_class[label]
        assert (int(count), group, int(support)) == (expected["train_count"], expected["shot_group"], expected["support"])
        assert abs(float(f1) - expected["f1"]) < 5e-5 and abs(float(precision) - expected["precision"]) < 5e-5
    assert "## Recipe" in card.text and "| loss | weighted_ce |" in card.text
    assert 'pipeline("text-classification"' in card.text


def test_evaluate_update_card_and_language(trained_run, toy_data_dir, tmp_path):
    from huggingface_hub import ModelCard

    run = shutil.copytree(trained_run, tmp_path / "run")
    info = json.loads((run / "model" / "weighted_bert.json").read_text())
    info["settings"]["language"] = "en"
    (run / "model" / "weighted_bert.json").write_text(json.dumps(info))
    assert main(["evaluate", "--model", str(run), "--data", str(toy_data_dir / "dev_data.txt"), "--update-card"]) == 0
    card = ModelCard.load(run / "model" / "README.md")
    assert card.data.language == "en"
    assert card.data.eval_results[0].dataset_name == "dev_data.txt"
    assert "## Results (evaluation set: dev_data.txt)" in card.text


def test_calibrate_folds_and_rewrites_the_card(trained_run, toy_data_dir, tmp_path, monkeypatch, capsys):
    """The toy model gains nothing from calibration, so an accepted fit is forced here."""
    from huggingface_hub import ModelCard

    from weighted_bert import calibration

    run = shutil.copytree(trained_run, tmp_path / "run")
    real = calibration.calibrate

    def accepted(*args, **kwargs):
        result = real(*args, **kwargs)
        result.tau, result.accepted = 0.5, True
        return result

    monkeypatch.setattr(calibration, "calibrate", accepted)
    assert main(["calibrate", "--model", str(run), "--data", str(toy_data_dir / "dev_data.txt")]) == 0
    assert "folded into classifier: every runtime computes them" in capsys.readouterr().out
    saved = json.loads((run / "model" / "calibration.json").read_text())
    assert saved["folded_into"] == "classifier" and saved["tau"] == 0.5
    text = ModelCard.load(run / "model" / "README.md").text
    assert "| calibration | z - 0.5 log(train prior), fitted on dev for macro_f1, folded into `classifier` |" in text


HOSTILE = ["<script>alert(1)</script>", "x\ny</td><img src=x onerror=alert(2)>", "a|pipe", "back`tick", "tab\there"]


def test_hostile_labels_are_text_in_the_rendered_card():
    """Labels went raw into the card's Markdown: a tag ran, a newline split the table row, a pipe
    added a column, a backtick closed the code span. Rendered by a Markdown library, the card
    must hold no tag from a label and one row of seven cells per class."""
    markdown_it = pytest.importorskip("markdown_it")
    from weighted_bert.model_card import _per_class, _weak_spots, md_text

    per_class = [{"label": label, "train_count": 3, "shot_group": "few", "precision": 0.5, "recall": 0.5,
                  "f1": 0.1, "support": 2} for label in HOSTILE]
    metrics = {"per_class": per_class, "confusions": [{"gold": HOSTILE[0], "predicted": HOSTILE[1], "count": 2}]}
    card = "\n".join(["Labels: " + ", ".join(md_text(x) for x in HOSTILE), *_per_class(metrics), *_weak_spots(metrics)])
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(card)
    assert "<script" not in html and "<img" not in html and "<code" not in html
    rows = [r for r in html.split("<tr>")[2:]]
    assert len(rows) == len(HOSTILE) and all(r.count("<td") == 7 for r in rows)
    for label in HOSTILE:  # each label shows as itself (a break or tab as a backslash and a letter)
        shown = label.replace("\n", "\\n").replace("\t", "\\t").replace("<", "&lt;").replace(">", "&gt;")
        assert shown.replace("`", "&#96;").replace("|", "&#124;") in html or shown in html, label
