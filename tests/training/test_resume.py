"""A run killed with SIGKILL resumes from its last complete checkpoint and ends where an
uninterrupted run ends; the disk is checked before training starts."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import namedtuple

import pytest
import torch
from helpers import FIXTURES, SLOW_TRAIN

from weighted_bert.cli import main
from weighted_bert.training import resume
from weighted_bert.training.resume import complete_checkpoints

# 138 training examples at batch 8: 18 steps an epoch, 54 in all, a checkpoint every 6.
FLAGS = ["--epochs", "3", "--learning-rate", "3e-3", "--head-learning-rate", "none", "--early-stopping-patience",
         "none", "--batch-size", "8", "--save-steps", "6", "--sampling", "class_balanced", "--no-progress", "--seed",
         "11"]  # the tiny model's budget: every step runs

def command(tiny_bert, toy_data_dir, output):
    return ["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(output),
            *FLAGS]


def kill_after_a_checkpoint(args, output, at_least_step):
    process = subprocess.Popen([sys.executable, "-c", SLOW_TRAIN, *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            done = complete_checkpoints(output / "checkpoints")
            if done and int(done[-1].name.split("-")[1]) >= at_least_step:
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, process.stderr.read()[-3000:]
    return process


def test_killed_run_resumes_and_matches_an_uninterrupted_run(tmp_path, tiny_bert, toy_data_dir, capsys):
    assert main(command(tiny_bert, toy_data_dir, tmp_path / "whole")) == 0

    killed = tmp_path / "killed"
    kill_after_a_checkpoint(command(tiny_bert, toy_data_dir, killed), killed, at_least_step=24)
    assert not (killed / "run_summary.json").exists() and not (killed / "eval_results.txt").exists()
    stopped_at = int(complete_checkpoints(killed / "checkpoints")[-1].name.split("-")[1])
    assert 24 <= stopped_at < 54

    capsys.readouterr()
    assert main(command(tiny_bert, toy_data_dir, killed)) == 0  # the same command again
    assert f"resuming from {killed / 'checkpoints'}" in capsys.readouterr().err

    whole, resumed = (json.loads((tmp_path / name / "eval_results.json").read_text()) for name in ("whole", "killed"))
    assert resumed["global_step"] == whole["global_step"] == 54
    for name in ("eval_accuracy", "eval_macro_f1", "eval_loss", "eval_ece"):
        assert resumed[name] == pytest.approx(whole[name], abs=1e-6), name
    probabilities = [[float(p) for line in (tmp_path / name / "test_results.tsv").read_text().splitlines()
                      for p in line.split("\t")] for name in ("whole", "killed")]
    assert probabilities[1] == pytest.approx(probabilities[0], abs=1e-6)
    assert not (killed / "checkpoints").exists()  # removed once the run has finished


def test_a_rerun_with_other_settings_does_not_resume(tmp_path, tiny_bert, toy_data_dir, capsys):
    output = tmp_path / "run"
    kill_after_a_checkpoint(command(tiny_bert, toy_data_dir, output), output, at_least_step=6)
    capsys.readouterr()
    assert main([*command(tiny_bert, toy_data_dir, output), "--learning-rate", "1e-3"]) == 2
    error = capsys.readouterr().err
    assert "unfinished run with other settings or data (learning_rate)" in error
    assert "--overwrite-output-dir" in error


def test_a_rerun_after_editing_the_class_weights_file_does_not_resume(tmp_path, tiny_bert, toy_data_dir, capsys):
    weights = tmp_path / "w.json"
    weights.write_text('{"finance": 1, "sport": 2, "weather": 3}')
    output = tmp_path / "run"
    flags = [*command(tiny_bert, toy_data_dir, output), "--loss", "weighted_ce", "--class-weights", str(weights)]
    kill_after_a_checkpoint(flags, output, at_least_step=6)
    weights.write_text('{"finance": 3, "sport": 2, "weather": 1}')  # the same path, other weights
    capsys.readouterr()
    assert main(flags) == 2
    error = capsys.readouterr().err
    assert "unfinished run with other settings or data (class_weights file)" in error


def test_resume_without_a_checkpoint_and_incomplete_checkpoints(tmp_path, tiny_bert, toy_data_dir, capsys):
    assert main([*command(tiny_bert, toy_data_dir, tmp_path / "new"), "--resume"]) == 2
    assert "no complete checkpoint to resume from" in capsys.readouterr().err
    folder = tmp_path / "checkpoints"
    for step, state in ((6, '{"global_step": 6}'), (12, '{"global_st'), (18, None)):
        (folder / f"checkpoint-{step}").mkdir(parents=True)
        (folder / f"checkpoint-{step}" / "optimizer.pt").write_bytes(b"")
        if state is not None:
            (folder / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    assert [p.name for p in complete_checkpoints(folder)] == ["checkpoint-6"]


def test_not_enough_disk_stops_before_training(tmp_path, tiny_bert, toy_data_dir, capsys, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(resume.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**5, 10**5))
    assert main(command(tiny_bert, toy_data_dir, tmp_path / "full")) == 2
    error = capsys.readouterr().err
    assert "GB free on its disk; this run needs about" in error
    assert not (tmp_path / "full" / "checkpoints").exists()


def test_resuming_loads_checkpoints_with_weights_only(tmp_path, tiny_bert, toy_data_dir, monkeypatch):
    flags = ["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
             str(tmp_path / "run"), "--max-steps", "4", "--save-steps", "2", "--batch-size", "8", "--no-progress"]
    assert main([*flags, "--keep-checkpoints"]) == 0
    (tmp_path / "run" / "run_summary.json").unlink()  # as if killed after the last checkpoint
    loads = []
    real_load = torch.load

    def checked_load(*args, **kwargs):
        loads.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", checked_load)
    assert main(flags) == 0
    assert loads and all(w is True for w in loads)


def test_overwrite_clears_every_file_of_the_earlier_run(tmp_path, trained_run, tiny_bert, toy_data_dir):
    """A second run without a test file must not keep (or report on) the first run's test files."""
    import shutil as sh

    out = sh.copytree(trained_run, tmp_path / "out")
    (out / "my_notes.txt").write_text("mine")  # not ours: stays
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                 "--overwrite-output-dir", "--no-do-predict", "--max-steps", "2", "--no-progress"]) == 0
    for name in ("predictions.tsv", "test_results.tsv", "test_results.json", "test_results.txt",
                 "test_classification_report.txt"):
        assert not (out / name).exists(), name
    assert (out / "my_notes.txt").read_text() == "mine"
    assert "<b>dev</b> set" in (out / "report.html").read_text()  # drawn from this run's dev predictions


@pytest.mark.parametrize("inside", [False, True])
def test_output_in_the_models_own_folder_is_refused(tmp_path, tiny_bert, toy_data_dir, capsys, inside):
    import shutil as sh

    model = sh.copytree(tiny_bert, tmp_path / "model")
    out = model / "run" if inside else model
    assert main(["train", "--model", str(model), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                 "--overwrite-output-dir", "--max-steps", "1"]) == 2
    assert "is the model's folder or inside it" in capsys.readouterr().err
    assert sorted(p.name for p in model.iterdir()) == sorted(p.name for p in tiny_bert.iterdir())


def test_a_second_run_on_a_locked_folder_is_refused(tmp_path, tiny_bert, toy_data_dir, capsys):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    holder = open(out / resume.LOCK, "w")  # another run holds the folder
    holder.write("process 4242 on somehost, started 2026-01-01 10:00")
    holder.flush()
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                     "--max-steps", "1", "--no-progress"]) == 2
        assert "another run is using this folder (process 4242 on somehost" in capsys.readouterr().err
        assert sorted(p.name for p in out.iterdir()) == [resume.LOCK]
    finally:
        holder.close()  # released: the next run goes ahead
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                 "--max-steps", "1", "--no-progress"]) == 0


def test_a_failed_preflight_leaves_no_empty_folder(tmp_path, toy_data_dir, capsys):
    out = tmp_path / "new" / "out"
    assert main(["train", "--model", str(tmp_path / "no-such-model"), "--data-dir", str(toy_data_dir),
                 "--output-dir", str(out)]) == 2
    assert not out.exists()


def test_a_poisoned_checkpoint_is_refused_on_resume(tmp_path, tiny_bert, toy_data_dir, capsys):
    marker = tmp_path / "ran"

    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    flags = ["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir",
             str(tmp_path / "run"), "--max-steps", "4", "--save-steps", "2", "--batch-size", "8", "--no-progress"]
    assert main([*flags, "--keep-checkpoints"]) == 0
    (tmp_path / "run" / "run_summary.json").unlink()  # as if killed after the last checkpoint
    last = complete_checkpoints(tmp_path / "run" / "checkpoints")[-1]
    torch.save({"state": RunsCode()}, last / "optimizer.pt")
    assert main(flags) == 2
    err = capsys.readouterr().err
    assert f"{last.name}: refused to load it" in err and "Traceback" not in err
    assert not marker.exists()


def test_output_in_a_tensorflow_checkpoints_folder_is_refused(tmp_path, toy_data_dir, capsys):
    import shutil as sh

    folder = sh.copytree(FIXTURES / "tf_bert", tmp_path / "google")
    assert main(["train", "--model", str(folder / "bert_model.ckpt"), "--data-dir", str(toy_data_dir),
                 "--output-dir", str(folder / "out"), "--max-steps", "1"]) == 2
    assert "is the model's folder or inside it" in capsys.readouterr().err


def test_the_fingerprint_follows_the_data_not_where_it_lies(tmp_path, toy_data_dir):
    """The Python API writes data in memory to a new temporary file each call: same content,
    same run; other content, another run."""
    import shutil as sh

    from weighted_bert.config import RunConfig
    from weighted_bert.data import read_dataset

    moved = sh.copy(toy_data_dir / "train_data.txt", tmp_path / "elsewhere.txt")
    here = RunConfig(model="m", output_dir="o", train_file=str(toy_data_dir / "train_data.txt"))
    there = RunConfig(model="m", output_dir="o", train_file=str(moved))
    assert resume.fingerprint(here, read_dataset(here.train_file), None) == \
        resume.fingerprint(there, read_dataset(there.train_file), None)
    with open(moved, "a") as handle:
        handle.write("one more line\tsport\n")
    assert resume.fingerprint(here, read_dataset(here.train_file), None) != \
        resume.fingerprint(there, read_dataset(there.train_file), None)
