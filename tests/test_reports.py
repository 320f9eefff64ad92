"""Pictures, report.html (checked in headless Chromium where it is installed), stats and compare."""

import csv
import json
import shutil
import subprocess

import pytest

from weighted_bert.cli import main
from weighted_bert.stats import dataset_stats

PNG = b"\x89PNG\r\n\x1a\n"
PICTURES = ("training_curves.png", "per_class_f1.png", "confusion_matrix.png", "reliability.png")


def test_training_writes_every_picture_and_the_page(trained_run):
    for name in PICTURES:
        assert (trained_run / name).read_bytes()[:8] == PNG, name
    page = (trained_run / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("src='data:image/png;base64,") == 4
    assert "http://" not in page and "https://" not in page  # self-contained
    for text in ("Headline metrics", "macro_f1", "Per class", "finance", "sport", "weather", "Most-confused pairs"):
        assert text in page
    rows = list(csv.reader(open(trained_run / "top_confusions.tsv", encoding="utf-8"), delimiter="\t"))
    assert rows[0] == ["gold_label", "predicted_label", "count", "share_of_gold"]


def test_eval_results_hold_every_metric(trained_run):
    results = json.loads((trained_run / "eval_results.json").read_text())
    for key in ("eval_accuracy", "eval_balanced_accuracy", "eval_macro_f1", "eval_micro_f1", "eval_weighted_f1",
                "eval_mcc", "eval_ece", "eval_few_shot_accuracy", "eval_medium_shot_accuracy",
                "eval_many_shot_accuracy", "eval_per_class", "eval_confusion_matrix"):
        assert key in results, key
    assert len(results["eval_confusion_matrix"]) == 3
    assert sum(map(sum, results["eval_confusion_matrix"])) == results["eval_num_examples"] == 30
    text = (trained_run / "eval_results.txt").read_text()
    assert "eval_per_class" not in text and "nan" not in text.lower()


def test_report_command_redraws_without_the_model(trained_run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy, ignore=shutil.ignore_patterns("model", "*.png", "report.html"))
    assert main(["report", str(copy)]) == 0
    assert capsys.readouterr().out.strip() == str(copy / "report.html")
    for name in PICTURES[1:]:
        assert (copy / name).read_bytes()[:8] == PNG
    page = (copy / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3  # no training curves without the training log
    assert main(["report", str(copy), "--split", "dev"]) == 0
    assert "<b>dev</b> set" in (copy / "report.html").read_text(encoding="utf-8")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian packages chromium, "
                    "chromium-driver); the page is still checked as HTML text above")
def test_report_renders_in_headless_chromium(trained_run, tmp_path):
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         (trained_run / "report.html").as_uri()], capture_output=True, text=True, timeout=120)
    dom = result.stdout
    assert 'data-images-loaded="4/4"' in dom, result.stderr[-2000:]
    assert "class=\"broken\"" not in dom
    assert "Headline metrics" in dom and "weather" in dom


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_stats_reports_duplicates_and_conflicts_exactly(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    write(data / "train_data.txt", "a b\tx\nc d\ty\na b\tx\ne f\tx\nc d\tz\ng h\tx\na b\tx\n")
    write(data / "dev_data.txt", "a b\tx\nq r\tw\n")
    stats = dataset_stats(data)
    train = stats["splits"]["train"]
    assert train["class_counts"] == {"x": 5, "y": 1, "z": 1}
    assert train["imbalance_ratio"] == 5.0
    assert train["duplicates"] == [{"text": "a b", "label": "x", "count": 3, "lines": [1, 3, 7]}]
    assert train["conflicting_labels"] == [{"text": "c d", "labels": {"y": 1, "z": 1}, "lines": [2, 5]}]
    assert train["shot_groups"] == {"many": 0, "medium": 0, "few": 3}
    assert train["length_percentiles"]["p100"] == 2.0
    assert stats["splits"]["dev"]["labels_unseen_in_train"] == ["w"]


def test_stats_command_writes_json_and_picture(tmp_path, toy_data_dir, tiny_bert, capsys):
    assert main(["stats", str(toy_data_dir), "--model", str(tiny_bert), "--output-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "imbalance ratio 9.6" in printed  # 96 sport / 10 weather
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["unit"] == "tokens"
    assert stats["splits"]["train"]["length_percentiles"]["p100"] == 8.0  # [CLS] + 6 words + [SEP]
    assert (tmp_path / "class_distribution.png").read_bytes()[:8] == PNG


def test_compare_resumes_and_reruns_only_the_missing_run(tmp_path, tiny_bert, toy_data_dir, capsys):
    args = ["compare", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
            str(tmp_path / "sweep"), "--recipes", "ce,weighted_ce:inverse", "--seeds", "1,2", "--max-steps", "3",
            "--batch-size", "8"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert first.err.count(": running") == 4
    summaries = {p: p.stat().st_mtime_ns for p in (tmp_path / "sweep").glob("*/seed*/run_summary.json")}
    assert len(summaries) == 4
    shutil.rmtree(tmp_path / "sweep" / "weighted_ce_inverse" / "seed2")
    (tmp_path / "sweep" / "ce" / "seed1" / "run_summary.json").unlink()  # interrupted before it finished
    assert main(args) == 0
    second = capsys.readouterr()
    assert second.err.count(": running") == 2
    assert "ce seed 1: incomplete earlier run" in second.err
    assert "ce seed 2: finished earlier, kept" in second.err
    kept = tmp_path / "sweep" / "ce" / "seed2" / "run_summary.json"
    assert kept.stat().st_mtime_ns == summaries[kept]
    board = (tmp_path / "sweep" / "leaderboard.md").read_text()
    assert "| ce | 2 |" in board and "| weighted_ce:inverse | 2 |" in board and "**" in board
    rows = list(csv.DictReader(open(tmp_path / "sweep" / "leaderboard.csv")))
    assert [r["recipe"] for r in rows] == ["ce", "weighted_ce:inverse"]
    assert float(rows[0]["accuracy_std"]) >= 0
    assert (tmp_path / "sweep" / "leaderboard.png").read_bytes()[:8] == PNG


def test_compare_sweep_file(tmp_path):
    from weighted_bert.compare import load_sweep, parse_recipe

    assert parse_recipe("weighted_ce:balanced:none") == (
        "weighted_ce:balanced:none",
        {"loss": "weighted_ce", "class_weights": "balanced", "weight_normalization": "none"})
    path = write(tmp_path / "s.json", json.dumps({"recipes": {"seed": {"loss": "weighted_ce", "lr": 1}}}))
    with pytest.raises(ValueError, match="recipe 'seed': unknown setting 'lr'"):
        load_sweep(path)
    path = write(tmp_path / "s.yaml", "recipes: [ce, 'weighted_ce:inverse']\nseeds: [1, 2]\n")
    sweep = load_sweep(path)
    assert list(sweep["recipes"]) == ["ce", "weighted_ce:inverse"] and sweep["seeds"] == [1, 2]
