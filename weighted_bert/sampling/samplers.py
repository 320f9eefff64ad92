"""The samplers behind ``--sampling`` (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import check_choice
from . import SAMPLINGS


def class_probabilities(counts: Sequence[int], mode: str) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    present = counts > 0
    if mode == "class_balanced":
        weights = present.astype(float)
    elif mode == "sqrt":
        weights = np.sqrt(counts)
    else:
        check_choice("sampling", mode, SAMPLINGS[1:])
    return weights / weights.sum()


class ClassAwareSampler(torch.utils.data.Sampler):
    def __init__(self, labels: Sequence[int], mode: str, *, seed: int = 0, num_samples: int | None = None,
                 rank: int = 0, world_size: int = 1):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        self.labels = np.asarray(labels)
        if self.labels.ndim == 2:  # multi-label 0/1 rows: a label is drawn, then a row that carries it
            self.by_class = [np.flatnonzero(self.labels[:, c] > 0) for c in range(self.labels.shape[1])]
        else:
            k = int(self.labels.max()) + 1 if len(self.labels) else 0
            self.by_class = [np.flatnonzero(self.labels == c) for c in range(k)]
        self.probabilities = class_probabilities([len(i) for i in self.by_class], mode)
        self.seed, self.epoch = seed, 0
        self.num_samples = len(self.labels) if num_samples is None else num_samples
        self.rank, self.world_size = rank, world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def epoch_indices(self) -> np.ndarray:
        """The whole epoch's draws, the same in every process."""
        rng = np.random.default_rng([self.seed, self.epoch])
        classes = rng.choice(len(self.probabilities), size=self.num_samples, p=self.probabilities)
        picks = rng.random(self.num_samples)
        sizes = np.array([len(i) for i in self.by_class])
        offsets = np.floor(picks * sizes[classes]).astype(int)
        return np.array([self.by_class[c][o] for c, o in zip(classes, offsets)], dtype=np.int64)

    def __iter__(self):
        return iter(self.epoch_indices()[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return len(range(self.rank, self.num_samples, self.world_size))


# Mega-batches of 8 batches, not the Trainer's 50: on CLINC150-LT (benchmarks/
# speed_ablation.py, 3 seeds) 50 cost 2.5 points of dev macro-F1 at one epoch (batches of
# one length are batches of few intents), 8 cost none and kept most of the speed.
LENGTH_GROUP_FACTOR = 8


class LengthGroupedSampler(torch.utils.data.Sampler):
    """A random permutation cut into mega-batches of ``mega_factor * batch_size``
    examples, each sorted by length (longest first), so consecutive batches hold
    examples of similar length; the mega-batch holding the longest example goes first, so
    that running out of memory shows at the first step. Depends only on ``seed`` and the
    epoch, like :class:`ClassAwareSampler`."""

    def __init__(self, lengths: Sequence[int], batch_size: int, *, seed: int = 0, mega_factor: int | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.lengths = np.asarray(lengths)
        self.mega = batch_size * (mega_factor or LENGTH_GROUP_FACTOR)
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def epoch_indices(self) -> np.ndarray:
        order = np.random.default_rng([self.seed, self.epoch, 1]).permutation(len(self.lengths))
        megas = [chunk[np.argsort(-self.lengths[chunk], kind="stable")]
                 for chunk in np.split(order, range(self.mega, len(order), self.mega))]
        longest = max(range(len(megas)), key=lambda i: self.lengths[megas[i][0]]) if megas else 0
        megas[0], megas[longest] = megas[longest], megas[0]
        return np.concatenate(megas) if megas else order

    def __iter__(self):
        return iter(self.epoch_indices().tolist())

    def __len__(self) -> int:
        return len(self.lengths)
