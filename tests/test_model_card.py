"""The model card: Hub metadata that huggingface_hub parses, and per-class numbers equal to
the run's own results."""

import json
import shutil

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
