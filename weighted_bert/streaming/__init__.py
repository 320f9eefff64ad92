"""Scoring inputs of any size: ``predict`` reads, scores and writes a chunk of rows at a time.

Memory is bounded by ``--chunk-rows`` (the texts, their windows and their probabilities of
one chunk), not by the input. Chunk ``i`` is rows ``i * chunk_rows`` to ``(i + 1) *
chunk_rows - 1`` of the input (blank lines are not rows), so the split is the same on every
machine; ``--shard I/N`` scores the chunks with ``i % N == I`` (counted from 0), and a job
array of N tasks covers the input exactly once. Each chunk's answers are committed as a
part file (written whole or not at all) beside the output (``OUTPUT.parts/``), and the
output is assembled from the parts at the end, atomically; ``--resume`` keeps the parts an
interrupted run committed. The code: the input's chunks in :mod:`~.sources`, the parts and
the output in :mod:`~.parts`, the command in :mod:`~.run`, and for Ray Data and Spark the
batch-scoring callable :class:`~.batch.BatchScorer`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UserError

ENGINES = ("local", "ray", "spark")  # where the chunks are scored (see engines.py)
# rows a chunk, by engine. Local: a chunk's texts are sorted by length for batching, and smaller
# chunks pad more (2,000 against 10,000 rows on CLINC150: +6% in process, profiled; whole
# processes on 45,000 lines +10% and +0%, benchmarks/scale.py). On an engine: few enough that its
# single-threaded workers share out an input's last chunks evenly (at 10,000, 45,000 lines left one
# of two workers idle for the last half chunk: +18% against plain predict).
CHUNK_ROWS = {"local": 10_000, "ray": 2_000, "spark": 2_000}


@dataclass(frozen=True)
class Shard:
    """The chunks ``i`` with ``i % count == index``."""

    index: int = 0
    count: int = 1

    def mine(self, chunk: int) -> bool:
        return chunk % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(spec: str | None) -> Shard:
    """``"I/N"`` (0 <= I < N) as a :class:`Shard`; None: the whole input."""
    if spec is None:
        return Shard()
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(spec))
    if not match:
        raise UserError(f"--shard {spec!r}: expected I/N, e.g. 0/4 (this task's number I from 0 to N-1, of N tasks)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or index >= count:
        raise UserError(f"--shard {spec}: I must be at least 0 and below N (the tasks are numbered 0 to {count - 1})"
                        if count >= 1 else f"--shard {spec}: N must be at least 1")
    return Shard(index, count)
