"""The long-tail recipes in real (tiny) training runs: LDAM's cosine head survives saving and
loading, class-aware sampling trains, and every loss can be chosen from the command line."""

import csv
import json

import numpy as np
import pytest
import torch

from weighted_bert.cli import main
from weighted_bert.model_folder import load_fine_tuned

FLAGS = ["--epochs", "12", "--learning-rate", "3e-3", "--batch-size", "8", "--no-progress", "--seed", "7"]


def probabilities(path):
    return np.array(list(csv.reader(open(path), delimiter="\t")), dtype=float)


def test_ldam_with_drw_and_class_balanced_sampling(tmp_path, tiny_bert, toy_data_dir):
    out = tmp_path / "ldam"
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                 "--loss", "ldam", "--drw-start", "0.5", "--ldam-scale", "10", "--sampling", "class_balanced",
                 *FLAGS]) == 0
    info = json.loads((out / "model" / "weighted_bert.json").read_text())
    assert info["head"] == {"type": "cosine", "scale": 10.0}
    assert info["loss_options"]["drw_start"] == 0.5 and info["settings"]["sampling"] == "class_balanced"
    assert json.loads((out / "eval_results.json").read_text())["eval_accuracy"] >= 0.8
    # our loader gives the probabilities the run wrote (the cosine head saved as its linear form)
    fine_tuned = load_fine_tuned(out)
    texts = [line.split("\t")[0] for line in (toy_data_dir / "test_data.txt").read_text().splitlines()]
    with torch.inference_mode():
        logits = fine_tuned.model(**fine_tuned.tokenizer(texts, padding=True, return_tensors="pt")).logits
    saved = probabilities(out / "test_results.tsv")
    np.testing.assert_allclose(torch.softmax(logits, -1).numpy(), saved, atol=1e-5)
    # plain transformers reads the head as a linear layer: the same predicted classes
    from transformers import AutoModelForSequenceClassification

    plain = AutoModelForSequenceClassification.from_pretrained(out / "model").eval()
    with torch.inference_mode():
        plain_logits = plain(**fine_tuned.tokenizer(texts, padding=True, return_tensors="pt")).logits
    np.testing.assert_array_equal(plain_logits.argmax(-1).numpy(), saved.argmax(1))


@pytest.mark.parametrize("loss", ["focal", "dice", "logit_adjusted", "balanced_softmax"])
def test_each_loss_trains_from_the_command_line(tmp_path, tiny_bert, toy_data_dir, loss):
    out = tmp_path / loss
    assert main(["train", "--model", str(tiny_bert), "--data-dir", str(toy_data_dir), "--output-dir", str(out),
                 "--loss", loss, "--sampling", "sqrt", "--label-smoothing", "0.0", "--max-steps", "4",
                 "--batch-size", "8", "--no-progress"]) == 0
    weights = json.loads((out / "class_weights.json").read_text())
    assert weights["loss"] == loss
    assert json.loads((out / "run_summary.json").read_text())["global_step"] == 4
