"""The rules of ``suggest`` (see :mod:`weighted_bert.suggestions`): margins, rare-first quotas,
and the picking itself with near-duplicates skipped."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np


def margins(probabilities: np.ndarray) -> np.ndarray:
    """The most probable class's probability minus the second's: small = unsure."""
    top = np.sort(np.asarray(probabilities, dtype=np.float64), axis=1)
    return top[:, -1] - top[:, -2]


def rare_first_quotas(available: Sequence[int], train_counts: Sequence[int], budget: int) -> np.ndarray:
    """Picks per class: one at a time, each to the class with the fewest training rows counting
    its picks so far (ties: the lower class index), among the classes with texts left."""
    available = np.asarray(available, dtype=np.int64)
    quotas = np.zeros(len(available), dtype=np.int64)
    heap = [(int(train_counts[c]), c) for c in range(len(available)) if available[c] > 0]
    heapq.heapify(heap)
    for _ in range(budget):
        if not heap:
            break
        count, c = heapq.heappop(heap)
        quotas[c] += 1
        if quotas[c] < available[c]:
            heapq.heappush(heap, (count + 1, c))
    return quotas


class Picker:
    """Picks texts one at a time, refusing a near-duplicate of one already picked: the same
    text key (:func:`~weighted_bert.label_audit.rules.normalised`) or an embedding whose
    cosine with a picked one is at or above ``threshold``."""

    def __init__(self, keys: Sequence[str], embeddings: np.ndarray | None, threshold: float):
        self.keys, self.threshold = keys, threshold
        self.unit = None
        if embeddings is not None:
            e = np.asarray(embeddings, dtype=np.float64)
            self.unit = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        self.picked: list[int] = []
        self.seen: set[str] = set()
        self.skipped = 0

    def take(self, i: int) -> bool:
        if self.keys[i] in self.seen:
            self.skipped += 1
            return False
        if self.unit is not None and self.threshold < 1 and self.picked and \
                float((self.unit[self.picked] @ self.unit[i]).max()) >= self.threshold:
            self.skipped += 1
            return False
        self.picked.append(i)
        self.seen.add(self.keys[i])
        return True


def pick(strategy: str, *, budget: int, probabilities: np.ndarray, train_counts: Sequence[int], keys: Sequence[str],
         embeddings: np.ndarray | None, threshold: float, seed: int) -> list[tuple[int, str]]:
    """``(pool index, reason)`` of each pick, in pick order; ``probabilities`` in the balanced
    view for ``balanced-uncertainty`` (see :mod:`weighted_bert.suggestions`)."""
    picker = Picker(keys, embeddings, threshold)
    margin = margins(probabilities)
    predicted = probabilities.argmax(axis=1)
    out: list[tuple[int, str]] = []
    if strategy == "random":
        for i in np.random.default_rng(seed).permutation(len(keys)):
            if len(out) == budget:
                break
            if picker.take(int(i)):
                out.append((int(i), "random"))
        return out
    if strategy == "uncertainty":
        for rank, i in enumerate(np.argsort(margin, kind="stable")):
            if len(out) == budget:
                break
            if picker.take(int(i)):
                out.append((int(i), f"margin {margin[i]:.3f} (the {rank + 1}th least sure of the pool)"))
        return out
    # balanced-uncertainty: the quotas are shared out again when a class runs out of distinct texts
    by_class = {c: list(np.flatnonzero(predicted == c)[np.argsort(margin[predicted == c], kind="stable")])
                for c in np.unique(predicted)}
    counts = np.asarray(train_counts, dtype=np.int64).copy()
    while len(out) < budget and any(by_class.values()):
        available = np.array([len(by_class.get(c, ())) for c in range(len(counts))])
        quotas = rare_first_quotas(available, counts, budget - len(out))
        for c in sorted(np.flatnonzero(quotas), key=lambda c: (counts[c], c)):  # the rarest class's picks first
            queue, taken = by_class[c], 0
            while queue and taken < quotas[c]:
                i = int(queue.pop(0))
                if picker.take(i):
                    taken += 1
                    before = counts[c] - train_counts[c]
                    out.append((i, f"predicted class has {train_counts[c]} training rows (+{before} picked before "
                                   f"it): margin {margin[i]:.3f}"))
                    counts[c] += 1
    return out[:budget]
