"""The saved model folder loads in plain transformers and predicts as the run did."""

import csv

import numpy as np
import torch


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
