"""compare: several recipes on one budget, resumed after an interruption, and sweep files."""

import csv
import json
import shutil

import pytest

from weighted_bert.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


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


def test_compare_rerun_with_other_data_or_settings_stops_naming_what_differs(tmp_path, tiny_bert, toy_data_dir,
                                                                            capsys):
    data = shutil.copytree(toy_data_dir, tmp_path / "data")
    args = ["compare", "--model", str(tiny_bert), "--data-dir", str(data), "--output-dir", str(tmp_path / "sweep"),
            "--recipes", "ce", "--seeds", "1", "--max-steps", "2", "--batch-size", "8"]
    assert main(args) == 0
    summary = tmp_path / "sweep" / "ce" / "seed1" / "run_summary.json"
    finished = summary.read_bytes()
    capsys.readouterr()
    assert main([*args, "--learning-rate", "1e-3"]) == 2
    err = capsys.readouterr().err
    assert "ce seed 1 finished earlier with other settings or data (learning_rate)" in err
    with open(data / "train_data.txt", "a", encoding="utf-8") as handle:
        handle.write("one more line\tsport\n")
    assert main(args) == 2
    assert "(train file)" in capsys.readouterr().err
    assert summary.read_bytes() == finished  # the finished run is left as it was


def test_the_leaderboard_says_which_recipes_ended_still_learning(tmp_path):
    from weighted_bert.compare import aggregate, write_leaderboard

    hint = "dev macro_f1 was still improving at the last evaluation"
    rows = [aggregate("ce", [{"macro_f1": 0.5, "still_improving": hint}, {"macro_f1": 0.6, "still_improving": None}]),
            aggregate("focal", [{"macro_f1": 0.55, "still_improving": None}, {"macro_f1": 0.5}]),
            aggregate("ldam", [{"macro_f1": 0.4, "still_improving": hint}, {"macro_f1": 0.45, "still_improving": hint}])]
    assert [r["still_improving"] for r in rows] == [1, 0, 2]
    write_leaderboard(tmp_path, rows)
    board = (tmp_path / "leaderboard.md").read_text()
    assert "Still learning when the budget ran out: ce 1 of 2 runs, ldam 2 of 2 runs" in board and "focal" not in \
        board.split("Still learning")[1]
    assert [r["still_improving"] for r in csv.DictReader(open(tmp_path / "leaderboard.csv"))] == ["1", "0", "2"]
    write_leaderboard(tmp_path, rows[1:2])
    assert "Still learning" not in (tmp_path / "leaderboard.md").read_text()


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


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _sweep(tmp_path, recipes):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"recipes": recipes, "seeds": [1]}))
    return path


def compare(tmp_path, tiny_bert, toy_data_dir, sweep_file):
    return main(["compare", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / "sweep"), "--config", str(sweep_file), "--max-steps", "1", "--batch-size", "8",
                 "--no-progress"])


def test_a_path_like_recipe_name_stays_inside_the_sweep(tmp_path, tiny_bert, toy_data_dir):
    outside = tmp_path / "seed1"  # where sweep/../seed1 would land
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    assert compare(tmp_path, tiny_bert, toy_data_dir, _sweep(tmp_path, {"..": {"loss": "ce"},
                                                                        "a/b": {"loss": "ce"}})) == 0
    assert (outside / "precious.txt").read_text() == "keep me" and sorted(p.name for p in outside.iterdir()) == [
        "precious.txt"]
    runs = sorted(str(p.relative_to(tmp_path / "sweep")) for p in (tmp_path / "sweep").glob("*/seed1"))
    assert len(runs) == 2 and all(not r.startswith(".") for r in runs)


def test_a_folder_that_is_not_a_run_is_never_removed(tmp_path, tiny_bert, toy_data_dir, capsys):
    folder = tmp_path / "sweep" / "ce" / "seed1"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    assert compare(tmp_path, tiny_bert, toy_data_dir, _sweep(tmp_path, {"ce": {"loss": "ce"}})) == 2
    assert "holds files a run does not write (notes.txt); it is not removed" in capsys.readouterr().err
    assert (folder / "notes.txt").read_text() == "mine"


def test_recipe_names_that_would_share_a_folder_are_refused(tmp_path, tiny_bert, toy_data_dir, capsys):
    assert compare(tmp_path, tiny_bert, toy_data_dir, _sweep(tmp_path, {"a/b": {"loss": "ce"},
                                                                        "a b": {"loss": "ce"}})) == 2
    assert "recipes 'a/b' and 'a b' would share the folder" in capsys.readouterr().err


@pytest.mark.parametrize("recipes, message", [
    ({"ce": {"loss": "ce", "class_weights": "balanced"}}, "is not read by loss ce"),
    ({"f": {"loss": "focal", "label_smoothing": 0.1}}, "recipe 'f': label_smoothing is not read by loss focal"),
    ({"ok": {"loss": "ce"}, "bad": {"loss": "ce", "epochs": "many"}}, "recipe 'bad': epochs 'many' is not a number"),
])
def test_every_recipe_is_checked_before_the_first_run(tmp_path, tiny_bert, toy_data_dir, capsys, recipes, message):
    assert compare(tmp_path, tiny_bert, toy_data_dir, _sweep(tmp_path, recipes)) == 2
    assert message in capsys.readouterr().err
    assert not list((tmp_path / "sweep").glob("*/seed*"))


def test_the_command_line_recipe_ce_balanced_is_refused(tmp_path, tiny_bert, toy_data_dir, capsys):
    assert main(["compare", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / "sweep"), "--recipes", "ce:balanced"]) == 2
    assert "recipe 'ce:balanced': class_weights is not read by loss ce" in capsys.readouterr().err


def test_compare_runs_multi_label_recipes(tmp_path, tiny_bert, toy_multilabel_dir):
    sweep = _sweep(tmp_path, {"bce": {"loss": "bce"}, "bce_pos": {"loss": "bce", "pos_weight": "sqrt_inverse"},
                              "asl": {"recipe": "asymmetric"}})
    assert main(["compare", "--model", str(tiny_bert), "--data-dir", str(toy_multilabel_dir), "--output-dir",
                 str(tmp_path / "sweep"), "--config", str(sweep), "--max-steps", "2", "--batch-size", "8",
                 "--no-progress"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "sweep" / "leaderboard.csv")))
    assert [r["recipe"] for r in rows] == ["bce", "bce_pos", "asl"]
    assert all(r["micro_f1_mean"] and r["map_mean"] and r["macro_f1_mean"] for r in rows)
    assert "accuracy_mean" not in rows[0]


def test_compare_auto_tries_every_measured_multi_label_recipe_the_default_first():
    from weighted_bert.auto import candidates
    from weighted_bert.loss_settings import MULTI_LABEL_LOSSES
    from weighted_bert.recipes import MULTI_LABEL_RECIPE, RECIPES
    from weighted_bert.tasks import MULTI_LABEL

    recipes = list(dict.fromkeys(recipe for recipe, _ in candidates(MULTI_LABEL)))
    assert recipes[0] == MULTI_LABEL_RECIPE
    assert sorted(recipes) == sorted(r for r, v in RECIPES.items() if v.get("loss") in MULTI_LABEL_LOSSES)
    assert "sigmoid_focal" in recipes


def test_compare_auto_halves_on_dev_and_scores_test_once(tmp_path, tiny_bert, toy_data_dir, capsys, monkeypatch):
    import weighted_bert.auto as auto
    from weighted_bert.tasks import SingleLabel

    monkeypatch.setattr(SingleLabel, "compare_recipes", ("ce", "logit_adjusted"))
    monkeypatch.setattr(auto, "LEARNING_RATES", (1e-3, 3e-3))
    monkeypatch.setattr(auto, "FIRST_STEPS", 2)
    assert main(["compare", "--auto", "--budget-minutes", "10", "--model", str(tiny_bert), "--data-dir",
                 str(toy_data_dir), "--output-dir", str(tmp_path / "sweep"), "--batch-size", "8",
                 "--precision", "fp32"]) == 0
    summary = json.loads((tmp_path / "sweep" / "auto" / "auto.json").read_text())
    rungs = summary["rungs"]
    assert [len(r) for r in rungs] == [4, 2, 1] and [r[0]["steps"] for r in rungs] == [2, 4, 8]
    # each rung keeps the better half on dev
    assert {(r["recipe"], r["learning_rate"]) for r in rungs[1]} == {(r["recipe"], r["learning_rate"])
                                                                     for r in rungs[0][:2]}
    # test is scored only for the winner, after the choice
    assert not list((tmp_path / "sweep" / "auto").glob("rung*/*/test_results.txt"))
    assert (tmp_path / "sweep" / "auto" / "winner" / "test_results.txt").is_file()
    assert summary["test"]["macro_f1"] >= 0 and "# compare --auto:" in capsys.readouterr().out
    assert main(["compare", "--auto", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / "x")]) == 2


def test_a_recipe_name_too_long_for_a_folder_is_refused_before_any_run(tmp_path, tiny_bert, toy_data_dir, capsys):
    """A 300-character recipe name was an OSError traceback (File name too long) from inside run_compare."""
    sweep = tmp_path / "sweep.json"
    sweep.write_text(json.dumps({"recipes": {"x" * 300: {"loss": "ce"}}, "seeds": [1]}))
    assert main(["compare", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
                 str(tmp_path / "out"), "--config", str(sweep)]) == 2
    err = capsys.readouterr().err
    assert "is 300 characters; its folder name may be at most 100" in err and "Traceback" not in err
    assert not (tmp_path / "out" / ("x" * 300)).exists()
