"""The saved model folder loads in plain transformers and predicts as the run did."""

import csv

import numpy as np
import torch

from weighted_bert.model_folder import load_fine_tuned


def test_saved_model_loads_with_plain_transformers(trained_run, toy_data_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(trained_run / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(trained_run / "model")
    assert model.config.id2label == {0: "finance", 1: "sport", 2: "weather"}
    texts = [line.split("\t")[0] for line in (toy_data_dir / "test_data.txt").read_text().splitlines()]
    with torch.inference_mode():
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        probabilities = torch.softmax(model(**batch).logits, dim=-1).numpy()
    ours = np.array(read_tsv(trained_run / "test_results.tsv"), dtype=float)
    np.testing.assert_allclose(probabilities, ours, atol=1e-5)


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))


def test_training_info_round_trip_and_folders_from_elsewhere(tmp_path):
    from weighted_bert.run_folder import TRAINING_INFO, TrainingInfo

    info = TrainingInfo(loss="focal", loss_options={"focal_gamma": 1.0}, class_counts=[5, 1], max_seq_length=64,
                        pair=False, labels=["a", "b"], settings={"seed": 3})
    info.write(tmp_path)
    assert TrainingInfo.read(tmp_path) == info
    assert TrainingInfo.read(tmp_path / "nothing") == TrainingInfo()  # a plain Hugging Face folder: scored with ce
    (tmp_path / TRAINING_INFO).write_text('{"loss": "ce", "class_counts": [2, 2], "added_later": 1}')
    assert TrainingInfo.read(tmp_path).class_counts == [2, 2]


def test_a_model_trained_with_json_weights_is_scored_with_them():
    """The saved folder keeps the weights' numbers; scoring it again needs the label order."""
    from weighted_bert.labels import LabelMap
    from weighted_bert.losses import get_loss
    from weighted_bert.run_folder import TrainingInfo

    info = TrainingInfo(loss="weighted_ce", class_counts=[3, 1],
                        loss_options={"class_weights": {"a": 1.0, "b": 3.0}, "weight_normalization": "none"})
    name, options = info.scoring_loss(LabelMap(("a", "b")))
    assert options["labels"] == ["a", "b"]
    assert get_loss(name, info.class_counts, **options).weight.tolist() == [1.0, 3.0]
    assert TrainingInfo().scoring_loss(LabelMap(("a", "b"))) == ("ce", {})


def test_scoring_length_is_the_training_length_or_the_models_own_limit(trained_run):
    import dataclasses

    from weighted_bert.run_folder import TrainingInfo

    fine_tuned = load_fine_tuned(trained_run)
    assert fine_tuned.max_seq_length == 64  # --max-seq-length 128, cut to the tiny model's 64 positions by the run
    assert dataclasses.replace(fine_tuned, info=TrainingInfo(max_seq_length=32)).max_seq_length == 32
    assert dataclasses.replace(fine_tuned, info=TrainingInfo()).max_seq_length == 64  # from elsewhere: its positions


def test_saved_files_get_the_usual_mode(trained_run):
    """A serving user must be able to read the weights: no 0600 files in the model folder."""
    import os
    import stat

    mask = os.umask(0)
    os.umask(mask)
    for path in (trained_run / "model").iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path.name
