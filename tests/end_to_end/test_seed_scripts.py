"""The seed's own scripts end to end: train.sh (train, evaluate, then predict from the fine-tuned
folder) and run_classifier_weighted_loss.py reporting bad input in one line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def test_train_sh_end_to_end(tmp_path, tiny_bert, toy_data_dir):
    """The seed's two commands: train with the weighted loss and evaluate, then predict from
    the fine-tuned output folder."""
    output = tmp_path / "output"
    env = {**os.environ, "BERT_BASE_DIR": str(tiny_bert), "DATA_DIR": str(toy_data_dir),
           "OUTPUT_DIR": str(output), "SEED_EXTRA_FLAGS": "--learning_rate=3e-3 --num_train_epochs=12 "
           "--train_batch_size=8 --progress=false --seed=7 --precision=fp32"}
    result = subprocess.run(["bash", str(REPO / "train.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    results = (output / "eval_results.txt").read_text()
    assert "eval_accuracy = " in results and "eval_loss = " in results
    assert json.loads((output / "eval_results.json").read_text())["eval_accuracy"] >= 0.8
    probabilities = np.loadtxt(output / "test_results.tsv", delimiter="\t")
    assert probabilities.shape == (36, 3)
    assert json.loads((output / "class_weights.json").read_text())["loss"] == "weighted_ce"


def test_seed_script_reports_bad_input_in_one_line(tmp_path, tiny_bert):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train_data.txt").write_text("good text\tpos\nno tab on this line\n")
    result = subprocess.run([sys.executable, str(REPO / "run_classifier_weighted_loss.py"),
                             "--task_name=weightedloss", "--do_train=true", f"--data_dir={data}",
                             f"--init_checkpoint={tiny_bert}", f"--output_dir={tmp_path / 'out'}"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {data / 'train_data.txt'}, line 2: has no tab; expected text<TAB>label")
