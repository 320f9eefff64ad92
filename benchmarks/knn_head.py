"""A memory for the tail: nearest-class-mean and nearest-neighbour heads on a trained model's
embeddings, alone and interpolated with its classifier, against the model as `train` leaves it.

    python benchmarks/knn_head.py [--seeds 0]       # finished runs are kept

For each seed, the packaged MiniLM-L6 trained on CLINC150-LT at `train`'s defaults (its answer:
the calibrated, prior-shifted classifier, the default). Every training, dev and test row is read
as two vectors, L2-normalised: the features the last linear layer takes in, and the encoder's
last hidden states mean-pooled. Heads on them, each a distribution over the classes:

* ``ncm``: softmax of the cosine similarity to each class's mean training vector, over T;
* ``nn``: softmax of the cosine similarity to each class's most similar training row, over T
  (a 1-nearest-neighbour per class: few examples a class is where a memory could help);

alone (their argmax) and interpolated, ``(1 - lam) p_classifier + lam p_head``, with lam and T
chosen on the (balanced) dev set by macro-F1 over LAMBDAS x TEMPERATURES. Writes
benchmarks/results/knn_head.md and .json: balanced test macro-F1 and few-shot accuracy
(training count below `train`'s few-shot threshold), and the difference to the default paired by seed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from weighted_bert.classifier import Classifier  # noqa: E402
from weighted_bert.config import RunConfig  # noqa: E402
from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.demo import demo_model_dir  # noqa: E402
from weighted_bert.files import atomic_write_text  # noqa: E402
from weighted_bert.prediction import softmax  # noqa: E402
from weighted_bert.settings import default_of  # noqa: E402
from weighted_bert.training.runner import run  # noqa: E402

STUDIES = ()  # the model is train's default; what varies is the head read on its embeddings
DATA = HERE.parent.parent / "shared" / "data" / "clinc150_lt"
FEW = default_of(RunConfig, "few_threshold")
LAMBDAS = (0.1, 0.2, 0.3, 0.5, 0.7)
TEMPERATURES = (0.02, 0.05, 0.1)


def normalised(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def head_similarities(train: np.ndarray, labels: np.ndarray, rows: np.ndarray, classes: int) -> dict:
    """Per row and class: cosine to the class mean (``ncm``) and to its most similar training row (``nn``)."""
    means = normalised(np.stack([train[labels == c].mean(axis=0) for c in range(classes)]))
    similar = rows @ train.T
    nearest = np.stack([similar[:, labels == c].max(axis=1) for c in range(classes)], axis=1)
    return {"ncm": rows @ means.T, "nn": nearest}


def macro_f1(gold, predicted) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, predicted, average="macro", zero_division=0))


def seed_part(runs: Path, seed: int) -> dict:
    output = runs / f"default_seed{seed}"
    if not (output / "run_summary.json").is_file():
        run(RunConfig(model=demo_model_dir(), data_dir=str(DATA), output_dir=str(output), seed=seed,
                      overwrite_output_dir=True, progress=False))
    classifier = Classifier.load(output, batch_size=128, backend="torch")  # features: the PyTorch model's
    labels = classifier.labels
    read = {}
    for split in ("train", "dev", "test"):
        data = read_dataset(DATA / f"{split}_data.txt")
        logits, features = classifier.logits_and_features(data)
        _, embeddings = classifier.logits_and_embeddings(data)
        read[split] = {"gold": np.array([labels.index(e.label) for e in data.examples]),
                       "probabilities": classifier.probabilities(logits),
                       "features": normalised(features), "embeddings": normalised(embeddings)}
    counts = np.bincount(read["train"]["gold"], minlength=len(labels))
    few = counts < FEW

    def scores(split, predicted):
        gold = read[split]["gold"]
        return {"macro_f1": macro_f1(gold, predicted), "few_shot_accuracy": float(np.mean(
            predicted[few[gold]] == gold[few[gold]]))}

    rows = {"classifier (the default)": scores("test", read["test"]["probabilities"].argmax(axis=1))}
    for vectors in ("features", "embeddings"):
        heads = {split: head_similarities(read["train"][vectors], read["train"]["gold"], read[split][vectors],
                                          len(labels)) for split in ("dev", "test")}
        for name in ("ncm", "nn"):
            rows[f"{name} on {vectors}, alone"] = scores("test", heads["test"][name].argmax(axis=1))

            def mixed(split, lam, temperature):
                return ((1 - lam) * read[split]["probabilities"]
                        + lam * softmax(heads[split][name] / temperature)).argmax(axis=1)

            lam, temperature = max(((lam, t) for lam in LAMBDAS for t in TEMPERATURES),
                                   key=lambda pair: macro_f1(read["dev"]["gold"], mixed("dev", *pair)))
            rows[f"{name} on {vectors}, mixed"] = {**scores("test", mixed("test", lam, temperature)),
                                                   "lam": lam, "temperature": temperature}
    return {"rows": rows, "few_shot_classes": int(few.sum())}


def render(results: dict, command: str) -> str:
    seeds = sorted(results["seeds"])
    default = "classifier (the default)"
    lines = ["# Nearest-class-mean and nearest-neighbour heads on the default model", "",
             f"Measured by `{command}` on this 2-core CPU machine ({results['minutes']:.1f} min): CLINC150-LT, the "
             "packaged MiniLM-L6 at `train`'s defaults, balanced test; seeds " + ", ".join(seeds)
             + ". See the module's docstring. Mixed: lam and T chosen on dev.", "",
             "| head | test macro-F1, mean | few-shot accuracy | difference to the default, per seed | "
             "lam, T (per seed) |", "|---|---:|---:|---|---|"]
    for name in results["seeds"][seeds[0]]["rows"]:
        per = [results["seeds"][s]["rows"][name] for s in seeds]
        base = [results["seeds"][s]["rows"][default]["macro_f1"] for s in seeds]
        chosen = "; ".join(f"{r['lam']}, {r['temperature']}" for r in per if "lam" in r)
        lines.append(f"| {name} | {np.mean([r['macro_f1'] for r in per]):.4f} | "
                     f"{np.mean([r['few_shot_accuracy'] for r in per]):.3f} | "
                     + ", ".join(f"{r['macro_f1'] - b:+.4f}" for r, b in zip(per, base)) + f" | {chosen} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--runs", default=str(HERE / "runs" / "knn_head"))
    parser.add_argument("--output", default=str(HERE / "results" / "knn_head.md"))
    args = parser.parse_args()
    started = time.perf_counter()
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    results = {"seeds": {seed: seed_part(runs, int(seed)) for seed in args.seeds.split(",")}}
    results["minutes"] = (time.perf_counter() - started) / 60
    output = Path(args.output)
    atomic_write_text(output.with_suffix(".json"), json.dumps(results, indent=1) + "\n")
    atomic_write_text(output, render(results, "python benchmarks/knn_head.py"
                                     + (f" --seeds {args.seeds}" if args.seeds != "0" else "")))
    print(output.read_text())


if __name__ == "__main__":
    main()
