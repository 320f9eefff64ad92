"""Batched prediction: length-sorted batches, results in input order."""

import numpy as np
import torch

from weighted_bert.data import read_dataset
from weighted_bert.model_folder import load_fine_tuned
from weighted_bert.prediction import predict_logits


def test_length_sorted_prediction_restores_input_order(trained_run, toy_data_dir):
    fine_tuned = load_fine_tuned(trained_run)
    examples = read_dataset(toy_data_dir / "test_data.txt").examples
    # Lengths in input order are far from sorted: pad some texts with repeated words.
    texts = [e.text + " the" * (i % 7) for i, e in enumerate(examples)]
    tokenizer, model = fine_tuned.tokenizer, fine_tuned.model
    encodings = tokenizer(texts, truncation=True, max_length=64)
    batched = predict_logits(model, tokenizer, {k: list(v) for k, v in encodings.items()}, batch_size=5)
    with torch.inference_mode():
        one_by_one = np.concatenate([model(**tokenizer([t], return_tensors="pt")).logits.numpy() for t in texts])
    assert np.abs(batched - one_by_one).max() < 1e-4
