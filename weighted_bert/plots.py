"""The pictures: PNG bytes from plain data, readable with 150 classes.

Each ``*_png`` function returns the PNG as bytes (the caller writes it, atomically) or
None when there is nothing to draw.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

SHOT_COLOURS = {"many": "#1f77b4", "medium": "#ff7f0e", "few": "#d62728"}


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display), imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig) -> bytes:
    """``fig`` as PNG bytes; the figure is closed."""
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def training_curves_png(log_history: Sequence[dict]) -> bytes | None:
    """Training loss per step with dev NLL (plain cross-entropy, comparable across losses) at
    each evaluation; dev accuracy and macro-F1 per epoch."""
    train = [(h["step"], h["loss"]) for h in log_history if "loss" in h and "step" in h]
    dev_nll = [(h["step"], h["eval_nll"]) for h in log_history if "eval_nll" in h and "step" in h]
    evals = [(h["epoch"], h.get("eval_accuracy"), h.get("eval_macro_f1"))
             for h in log_history if "eval_accuracy" in h]
    if not train:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 2 if evals else 1, figsize=(11 if evals else 6, 4), squeeze=False)
    ax = axes[0][0]
    ax.plot(*zip(*train), marker="." if len(train) < 30 else None, label="training objective")
    if dev_nll:
        ax.plot(*zip(*dev_nll), marker="o", label="dev NLL (plain cross-entropy)")
        ax.legend(fontsize=8)
    ax.set(xlabel="optimizer step", ylabel="loss", title="Training loss and dev NLL")
    ax.grid(alpha=0.3)
    if evals:
        ax = axes[0][1]
        epochs, acc, f1 = zip(*evals)
        ax.plot(epochs, acc, marker="o", label="accuracy")
        ax.plot(epochs, f1, marker="s", label="macro-F1")
        ax.set(xlabel="epoch", ylabel="dev score", title="Dev set", ylim=(0, 1))
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def per_class_f1_png(per_class: Sequence[dict], *, many_threshold: int, few_threshold: int,
                     annotate: int = 8) -> bytes | None:
    """F1 of each class against its training count (log scale): the long-tail picture.
    The ``annotate`` worst classes are named."""
    rows = [r for r in per_class if "train_count" in r and r["support"] > 0]
    if not rows:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(12, 5))
    counts = np.array([max(r["train_count"], 0.8) for r in rows])  # a 0 count still shows on a log axis
    f1 = np.array([r["f1"] for r in rows])
    for group, colour in SHOT_COLOURS.items():
        mask = np.array([r["shot_group"] == group for r in rows])
        if mask.any():
            ax.scatter(counts[mask], f1[mask], s=22, alpha=0.75, color=colour,
                       label=f"{group}-shot ({mask.sum()} classes, mean F1 {f1[mask].mean():.2f})")
    for threshold in (few_threshold, many_threshold):
        ax.axvline(threshold, color="grey", linestyle=":", linewidth=1)
    worst = np.argsort(f1, kind="stable")[:annotate]
    # Named beside the plot, not on it: the worst classes often share one point (count 1, F1 0).
    listing = "\n".join(f"{rows[i]['label'][:28]}  (n={rows[i]['train_count']}, F1 {f1[i]:.2f})" for i in worst)
    ax.text(1.02, 1.0, "Lowest F1:\n" + listing, transform=ax.transAxes, va="top", fontsize=8, family="monospace")
    ax.set_xscale("log")
    ax.set(xlabel="training examples of the class (log scale)", ylabel="F1", ylim=(-0.03, 1.03),
           title="Per-class F1 against training count")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 0.35), fontsize=8)
    fig.subplots_adjust(left=0.07, right=0.62, bottom=0.11, top=0.92)
    return png_bytes(fig)


def top_confusions(confusions: Sequence[dict], support: dict, limit: int = 20) -> list[dict]:
    """The largest confusions (``metrics.confusions``, largest first) with the share of the
    gold class's examples (``support``: label -> examples) that went that way."""
    return [{**c, "share_of_gold": c["count"] / max(support.get(c["gold"], 0), 1)} for c in confusions[:limit]]


def confusion_matrix_png(confusions: Sequence[dict], support: dict, labels: Sequence[str], *, full_up_to: int = 30,
                         pairs: int = 20, drawn_up_to: int = 400) -> bytes | None:
    """Row-normalised confusion matrix from the non-zero confusions and each class's
    examples. Up to ``full_up_to`` classes with names on the axes; beyond that the matrix
    without names beside the most-confused pairs; beyond ``drawn_up_to`` classes only the pairs."""
    k = len(labels)
    if k == 0 or not any(support.values()):
        return None
    index = {label: i for i, label in enumerate(labels)}
    if k <= drawn_up_to:
        m = np.zeros((k, k))
        for c in confusions:
            m[index[c["gold"]], index[c["predicted"]]] = c["count"]
        for label, i in index.items():
            m[i, i] = support.get(label, 0) - m[i].sum()
        normalised = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    plt = pyplot()
    confused = top_confusions(confusions, support, pairs)
    if k <= full_up_to:
        size = max(5, 0.35 * k + 3)
        fig, ax = plt.subplots(figsize=(size + 1, size))
        image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(k), labels, rotation=90, fontsize=8)
        ax.set_yticks(range(k), labels, fontsize=8)
        if k <= 12:
            for i in range(k):
                for j in range(k):
                    if m[i, j]:
                        ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=8,
                                color="white" if normalised[i, j] > 0.5 else "black")
        ax.set(xlabel="predicted", ylabel="gold", title="Confusion matrix (rows sum to 1)")
        fig.colorbar(image, ax=ax, fraction=0.046)
    else:
        if k <= drawn_up_to:
            fig, (ax, bx) = plt.subplots(1, 2, figsize=(16, 7.5), gridspec_kw={"width_ratios": [1, 1.1]})
            image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
            ax.set(xlabel="predicted class (label-map order)", ylabel="gold class",
                   title=f"Confusion matrix, {k} classes (rows sum to 1)")
            fig.colorbar(image, ax=ax, fraction=0.046)
        else:
            fig, bx = plt.subplots(figsize=(9, 7.5))
        if confused:
            names = [f"{c['gold']} → {c['predicted']}" for c in confused][::-1]
            bx.barh(range(len(names)), [c["count"] for c in confused][::-1], color="#d62728", alpha=0.8)
            bx.set_yticks(range(len(names)), names, fontsize=8)
            bx.set(xlabel="examples", title=f"The {len(confused)} most-confused pairs (gold → predicted)")
            bx.grid(alpha=0.3, axis="x")
        else:
            bx.axis("off")
            bx.text(0.5, 0.5, "no confusions", ha="center")
    fig.tight_layout()
    return png_bytes(fig)


def reliability_png(bins: Sequence[dict], ece: float, *, before: Sequence[dict] | None = None,
                    before_ece: float | None = None, title: str = "Reliability (top label)") -> bytes | None:
    """Reliability diagram: accuracy against confidence per bin, with the bin sizes below;
    with ``before`` (the bins before calibration), those too, as a line."""
    if not any(b["count"] for b in bins):
        return None
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(6, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    width = bins[0]["high"] - bins[0]["low"]
    centres = [(b["low"] + b["high"]) / 2 for b in bins]
    accuracy = [b["accuracy"] or 0 for b in bins]
    confidence = [b["confidence"] if b["confidence"] is not None else c for b, c in zip(bins, centres)]
    after = "after calibration: " if before else ""
    ax.bar(centres, accuracy, width=width * 0.95, color="#1f77b4", alpha=0.8, label=f"{after}accuracy")
    ax.bar(centres, np.array(confidence) - np.array(accuracy), bottom=accuracy, width=width * 0.95,
           color="#d62728", alpha=0.25, label="gap to confidence")
    if before:
        used = [b for b in before if b["count"]]
        ax.plot([b["confidence"] for b in used], [b["accuracy"] for b in used], color="#ff7f0e", marker="o",
                label=f"before calibration (ECE {before_ece:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    ax.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title=f"{title}, ECE {ece:.3f}")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    bx.bar(centres, [b["count"] for b in bins], width=width * 0.95, color="grey")
    bx.set(xlabel="confidence (probability of the predicted class)", ylabel="examples")
    bx.grid(alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def coverage_accuracy_png(confidence: Sequence[float], correct: Sequence[bool]) -> bytes | None:
    """Accuracy on the answered texts when only the surest share is answered (abstaining on
    the rest), against that share: the curve ``calibrate --coverage`` picks a point on."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    if not len(confidence):
        return None
    order = np.argsort(-confidence, kind="stable")
    answered = np.arange(1, len(order) + 1)
    accuracy = np.cumsum(correct[order]) / answered
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(answered / len(order), accuracy, color="#1f77b4")
    for share in (0.5, 0.8, 0.9):
        i = max(int(np.ceil(share * len(order))) - 1, 0)
        ax.annotate(f"{accuracy[i]:.3f}", (answered[i] / len(order), accuracy[i]), fontsize=8,
                    textcoords="offset points", xytext=(-10, 8))
        ax.plot([answered[i] / len(order)], [accuracy[i]], "o", color="#1f77b4")
    ax.set(xlabel="coverage (share of texts answered, surest first)", ylabel="accuracy on the answered",
           xlim=(0, 1), title="Coverage and accuracy when abstaining on the least sure")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def precision_recall_png(curves: Sequence[dict]) -> bytes | None:
    """Precision against recall for a few classes: ``{"label", "precision", "recall", "ap"}`` each."""
    if not curves:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for curve in curves:
        ax.step(curve["recall"], curve["precision"], where="post", label=f"{curve['label']} (AP {curve['ap']:.3f})")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title="Precision-recall of the classes with the lowest average precision")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def class_distribution_png(labels: Sequence[str], counts: Sequence[int], *, many_threshold: int,
                           few_threshold: int, title: str = "Training examples per class") -> bytes | None:
    """Classes sorted by count (log scale), coloured by shot group."""
    if not counts:
        return None
    from .shot_groups import shot_group

    plt = pyplot()
    order = np.argsort(-np.asarray(counts), kind="stable")
    k = len(labels)
    fig, ax = plt.subplots(figsize=(max(8, min(0.12 * k + 4, 20)), 5))
    colours = [SHOT_COLOURS[shot_group(counts[i], many_threshold, few_threshold)] for i in order]
    ax.bar(range(k), [max(counts[i], 0.8) for i in order], color=colours, width=0.85)
    if k <= 40:
        ax.set_xticks(range(k), [labels[i] for i in order], rotation=90, fontsize=8)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{k} classes, sorted by count")
    ax.set_yscale("log")
    ax.set(ylabel="examples (log scale)", title=title)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in SHOT_COLOURS.values()]
    ax.legend(handles, [f"{g}-shot" for g in SHOT_COLOURS], fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return png_bytes(fig)
