"""The tail past the decision's ceiling: the second-stage methods (``--stage2``) on the `ce`
models of ``benchmarks/defaults.py``, with the decision fitted after them.

    python benchmarks/tail_methods.py [--runs-dir benchmarks/runs/defaults_default_budget] [--orders 0]

For each data set and order that defaults.py trained (CLINC150-LT at imbalance 100 and 10,
debian_role), the `ce` model's last linear layer is fitted again on its encoder's features by
each method of weighted_bert/stage2 (tau_norm with tau chosen on the dev a user of the set
holds out, as `train --stage2 tau_norm` does; crt and lws on the training features), exactly
as `train --stage2` folds it, then scored in both worlds of defaults.py (balanced and
natural dev and test) with and without the decision (`accuracy` under the target prior `dev`,
fitted on that world's dev with the noise guard, as `train --target-prior dev` does).
Writes benchmarks/results/tail_methods.md and .json: macro-F1 and few-shot accuracy (training
count < 20) on each test, and the difference to `ce + decision` (the default) paired by order.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from weighted_bert.calibration import calibrate  # noqa: E402
from weighted_bert.calibration.inputs import build_objective  # noqa: E402
from weighted_bert.config import RunConfig  # noqa: E402
from weighted_bert.data import read_dataset  # noqa: E402
from weighted_bert.files import atomic_write_text  # noqa: E402
from weighted_bert.metrics import classification_metrics  # noqa: E402
from weighted_bert.model_folder import load_fine_tuned  # noqa: E402
from weighted_bert.settings import default_of  # noqa: E402
from weighted_bert.stage2.methods import choose_tau, learned_scales, retrained_classifier, tau_normalised  # noqa: E402
from weighted_bert.tasks import task_of  # noqa: E402
from weighted_bert.training.stage2 import features, head  # noqa: E402

STUDIES = ()  # no training: the models are defaults.py's
SETS = ("if100", "if10", "debian_role")
FEW, MANY = default_of(RunConfig, "few_threshold"), default_of(RunConfig, "many_threshold")


def trained_head(model) -> tuple[np.ndarray, np.ndarray]:
    """The last linear layer as training left it: the decision `train` fitted and folded into it
    taken out again (`--stage2` runs before the decision is fitted)."""
    linear = head(model)
    w = linear.weight.detach().float().numpy().astype(np.float64)
    b = linear.bias.detach().float().numpy().astype(np.float64)
    if model.calibration is None:
        return w, b

    def unfold(z):  # per class affine: the folded logits back to the trained ones
        return model.logits(z.astype(np.float32), use_calibration=False).astype(np.float64)

    b_raw = unfold(b[None, :])[0]
    return (unfold(w.T + b) - b_raw).T, b_raw


def heads(model, files: dict, cache: dict) -> dict:
    """Each method's (W, b), fitted as `train --stage2` fits it."""
    w0, b0 = trained_head(model)
    y_train = np.asarray(model.label_map.encode(read_dataset(files["train"])))
    y_dev = np.asarray(model.label_map.encode(read_dataset(files["dev"])))
    task = task_of(False)

    def score(logits):
        return task.epoch_metrics(logits.astype(np.float32), y_dev, train_counts=model.info.class_counts,
                                  many_threshold=MANY, few_threshold=FEW)["macro_f1"]

    tau, _ = choose_tau(cache["dev"], w0, b0, score)
    w_crt, b_crt = retrained_classifier(cache["train"], y_train, len(w0))
    scales = learned_scales(cache["train"], y_train, w0, b0)
    return {"ce": (w0, b0, {}), "tau_norm": (*tau_normalised(w0, b0, tau), {"tau": tau}),
            "crt": (w_crt, b_crt, {}), "lws": (w0 * scales[:, None], b0 * scales,
                                              {"scales": [float(scales.min()), float(scales.max())]})}


def where_errors_are(model, files: dict, cache: dict, w, b, worst: int = 8) -> dict:
    """The default's (`ce + decision`) balanced test by training count: F1 and errors of the
    many-, medium- and few-shot classes that have test rows, and the classes it gets most wrong."""
    from sklearn.metrics import f1_score

    labels, counts = model.label_map.labels, np.asarray(model.info.class_counts)
    yd = np.asarray(model.label_map.encode(read_dataset(files["balanced_dev"])))
    yt = np.asarray(model.label_map.encode(read_dataset(files["balanced_test"])))
    objective = build_objective("accuracy", labels, train_counts=list(counts), dev_labels=yd, target_prior="dev")
    fitted = calibrate((cache["balanced_dev"] @ w.T + b).astype(np.float32), yd, list(counts), objective=objective)
    predicted = fitted.apply((cache["balanced_test"] @ w.T + b).astype(np.float32)).argmax(1)
    f1 = f1_score(yt, predicted, labels=range(len(labels)), average=None, zero_division=0)
    tested = np.bincount(yt, minlength=len(labels)) > 0  # a class without test rows has no F1 to speak of
    groups = {"many": (counts > MANY) & tested, "medium": (counts >= FEW) & (counts <= MANY) & tested,
              "few": (counts < FEW) & tested}
    wrong = predicted != yt
    out = {"groups": {g: {"classes": int(m.sum()), "macro_f1": float(f1[m].mean()) if m.any() else None,
                          "share_of_errors": float(wrong[m[yt]].sum() / max(1, wrong.sum()))}
                      for g, m in groups.items()}}
    order = [c for c in np.argsort(f1, kind="stable") if tested[c]][:worst]
    out["worst"] = [{"label": labels[c], "train": int(counts[c]), "f1": float(f1[c]),
                     "taken_for": labels[int(np.bincount(predicted[(yt == c) & wrong], minlength=len(labels)).argmax())]
                     if ((yt == c) & wrong).any() else None} for c in order]
    return out


def scores_of(model, files: dict, cache: dict, w, b) -> dict:
    labels, counts = model.label_map.labels, model.info.class_counts
    few = np.asarray(counts) < FEW
    out = {}
    for world in ("natural", "balanced"):
        zd, zt = cache[f"{world}_dev"] @ w.T + b, cache[f"{world}_test"] @ w.T + b
        yd = np.asarray(model.label_map.encode(read_dataset(files[f"{world}_dev"])))
        yt = np.asarray(model.label_map.encode(read_dataset(files[f"{world}_test"])))
        objective = build_objective("accuracy", labels, train_counts=counts, dev_labels=yd, target_prior="dev")
        fitted = calibrate(zd.astype(np.float32), yd, counts, objective=objective)
        for name, z in ((world, zt), (world + " + decision", fitted.apply(zt.astype(np.float32)))):
            predicted = z.argmax(1)
            metrics = classification_metrics(yt, predicted)
            in_few = few[yt]
            out[name] = {"macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"],
                         "few_shot_accuracy": float(np.mean(predicted[in_few] == yt[in_few])) if in_few.any() else None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-dir", default=str(HERE / "runs" / "defaults_default_budget"))
    parser.add_argument("--orders", default="0")
    parser.add_argument("--output", default=str(HERE / "results" / "tail_methods.md"))
    args = parser.parse_args()
    runs, orders = Path(args.runs_dir), [int(o) for o in args.orders.split(",")]
    started = time.perf_counter()
    results: dict = {}
    for name in SETS:
        for order in orders:
            data, run = runs / "data" / f"{name}_order{order}", runs / f"{name}_order{order}" / "ce"
            if not (run / "run_summary.json").is_file():
                print(f"{run}: not trained (run benchmarks/defaults.py first); skipped")
                continue
            files = {"train": data / "train_data.txt", "dev": data / "dev_data.txt",
                     **{f"{w}_{s}": data / f"{w}_{s}.txt" for w in ("natural", "balanced") for s in ("dev", "test")}}
            model = load_fine_tuned(run / "model")
            cache = {split: features(model, read_dataset(path), batch_size=128).astype(np.float64)
                     for split, path in files.items()}
            for method, (w, b, chosen) in heads(model, files, cache).items():
                results[f"{name}/{order}/{method}"] = {**scores_of(model, files, cache, w, b), "chosen": chosen}
                if method == "ce":
                    results[f"{name}/{order}/{method}"]["errors"] = where_errors_are(model, files, cache, w, b)
                print(name, order, method, json.dumps(results[f"{name}/{order}/{method}"])[:300], flush=True)
    minutes = (time.perf_counter() - started) / 60
    atomic_write_text(Path(args.output).with_suffix(".json"), json.dumps(results, indent=1) + "\n")
    atomic_write_text(Path(args.output), render(results, orders, minutes, " ".join(
        ["python benchmarks/tail_methods.py", *map(shlex.quote, sys.argv[1:])])))
    print(Path(args.output).read_text())


def render(results: dict, orders, minutes: float, command: str) -> str:
    columns = [(s, w) for s in SETS for w in ("natural", "balanced")]
    methods = ("ce", "tau_norm", "crt", "lws")
    lines = ["# Second-stage methods on the `ce` models of defaults.py", "",
             f"Measured by `{command}` on this 2-core CPU machine ({minutes:.0f} min; no training: the models are "
             f"those of benchmarks/defaults.py at `train`'s budget, {len(orders)} order(s)). See the module's "
             "docstring.",
             "", "Test macro-F1 (few-shot accuracy in brackets), mean over orders:", "",
             "| method | " + " | ".join(f"{s} {w}" for s, w in columns) + " |", "|---|" + "---:|" * len(columns)]
    for method in methods:
        for decided in ("", " + decision"):
            cells = []
            for s, w in columns:
                rows = [results[f"{s}/{o}/{method}"][w + decided] for o in orders if f"{s}/{o}/{method}" in results]
                if not rows:
                    cells.append("")
                    continue
                f1 = np.mean([r["macro_f1"] for r in rows])
                fs = [r["few_shot_accuracy"] for r in rows if r["few_shot_accuracy"] is not None]
                cells.append(f"{f1:.3f}" + (f" ({np.mean(fs):.3f})" if fs else ""))
            lines.append(f"| {method}{decided} | " + " | ".join(cells) + " |")
    lines += ["", "Difference in macro-F1 to the default (`ce + decision`), paired by order: mean (min, max):", "",
              "| method | " + " | ".join(f"{s} {w}" for s, w in columns) + " |", "|---|" + "---:|" * len(columns)]
    for method in methods[1:]:
        for decided in ("", " + decision"):
            cells = []
            for s, w in columns:
                gaps = [results[f"{s}/{o}/{method}"][w + decided]["macro_f1"]
                        - results[f"{s}/{o}/ce"][w + " + decision"]["macro_f1"]
                        for o in orders if f"{s}/{o}/{method}" in results]
                cells.append(f"{np.mean(gaps):+.3f} ({min(gaps):+.3f}, {max(gaps):+.3f})" if gaps else "")
            lines.append(f"| {method}{decided} | " + " | ".join(cells) + " |")
    chosen = [f"{key}: {value['chosen']}" for key, value in results.items() if value["chosen"]]
    lines += ["", "What each method chose: " + "; ".join(chosen) + ".", "",
              "## Where the default's errors are (balanced test, `ce + decision`, first order)", "",
              "| data set | many-shot: classes, macro-F1, share of errors | medium-shot | few-shot | "
              "the classes it gets most wrong: label (training rows) F1, taken for |", "|---|---|---|---|---|"]
    for name in SETS:
        errors = results.get(f"{name}/{orders[0]}/ce", {}).get("errors")
        if not errors:
            continue
        cells = [f"{g['classes']}, {g['macro_f1']:.3f}, {g['share_of_errors']:.0%}" if g["classes"] else "none"
                 for g in errors["groups"].values()]
        worst = "; ".join(f"{w['label']} ({w['train']}) {w['f1']:.2f}" + (f", as {w['taken_for']}" if w["taken_for"]
                                                                            else "") for w in errors["worst"])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {worst} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
