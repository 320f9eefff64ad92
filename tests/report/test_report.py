"""Pictures, report.html (checked in headless Chromium where it is installed), stats and compare."""

import csv
import shutil
import subprocess

import pytest

from weighted_bert.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

PNG = b"\x89PNG\r\n\x1a\n"
PICTURES = ("training_curves.png", "per_class_f1.png", "confusion_matrix.png", "reliability.png",
            "coverage_accuracy.png", "precision_recall.png")


def test_training_writes_every_picture_and_the_page(trained_run):
    for name in PICTURES:
        assert (trained_run / name).read_bytes()[:8] == PNG, name
    page = (trained_run / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("src='data:image/png;base64,") == 6
    assert "http://" not in page and "https://" not in page  # self-contained
    for text in ("Headline metrics", "macro_f1", "macro_average_precision", "nll", "brier", "Per class", "finance",
                 "sport", "weather", "Most-confused pairs"):
        assert text in page
    rows = list(csv.reader(open(trained_run / "top_confusions.tsv", encoding="utf-8"), delimiter="\t"))
    assert rows[0] == ["gold_label", "predicted_label", "count", "share_of_gold"]


def test_report_command_redraws_without_the_model(trained_run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy, ignore=shutil.ignore_patterns("model", "*.png", "report.html"))
    assert main(["report", str(copy)]) == 0
    assert capsys.readouterr().out.strip() == str(copy / "report.html")
    for name in PICTURES[1:]:
        assert (copy / name).read_bytes()[:8] == PNG
    page = (copy / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5  # no training curves without the training log
    assert main(["report", str(copy), "--split", "dev"]) == 0
    assert "<b>dev</b> set" in (copy / "report.html").read_text(encoding="utf-8")


def test_calibrate_redraws_the_report_with_dev_reliability_before_and_after(trained_run, toy_data_dir, tmp_path,
                                                                           capsys, monkeypatch):
    monkeypatch.setattr("weighted_bert.calibration.fit.MIN_ERRORS", 0)  # the toy model makes no dev errors
    run = shutil.copytree(trained_run, tmp_path / "run")
    assert main(["calibrate", "--model", str(run), "--data", str(toy_data_dir / "dev_data.txt")]) == 0
    assert f"report (with the dev reliability before and after): {run / 'report.html'}" in capsys.readouterr().out
    assert (run / "reliability_calibration.png").read_bytes()[:8] == PNG
    assert "reliability_calibration.png" in (run / "report.html").read_text(encoding="utf-8")
    (run / "model" / "calibration.json").unlink()  # no calibration any more: its picture goes
    assert main(["report", str(run)]) == 0
    assert not (run / "reliability_calibration.png").exists()


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian packages chromium, "
                    "chromium-driver); the page is still checked as HTML text above")
def test_report_renders_in_headless_chromium(trained_run, tmp_path):
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         (trained_run / "report.html").as_uri()], capture_output=True, text=True, timeout=120)
    dom = result.stdout
    assert 'data-images-loaded="6/6"' in dom, result.stderr[-2000:]
    assert "class=\"broken\"" not in dom
    assert "Headline metrics" in dom and "weather" in dom


def test_report_names_a_damaged_input_file(trained_run, tmp_path, capsys):
    import shutil

    run = shutil.copytree(trained_run, tmp_path / "run")
    (run / "class_weights.json").write_text("{ damaged")
    assert main(["report", str(run)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {run / 'class_weights.json'}: is not valid JSON")


def test_a_field_over_128_kib_in_the_predictions_is_reported_on(tmp_path):
    """The csv module refuses fields over 128 KiB by default; our own files may hold one."""
    import json as json_module

    from weighted_bert.labels import LabelMap
    from weighted_bert.tasks import build_report

    LabelMap(("a", "b")).save(tmp_path / "label_map.json")
    long_text = "word " * 60_000  # 300 KB
    rows = ["text\tpredicted_label\tprobability\tgold_label", f"{long_text}\ta\t0.9\ta", "short\tb\t0.8\ta"]
    (tmp_path / "predictions.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "class_weights.json").write_text(json_module.dumps({"class_counts": [3, 1]}))
    page = build_report(tmp_path)
    assert page.is_file() and "macro" in page.read_text().lower()
