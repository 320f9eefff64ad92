"""Where a run's wall time goes: seconds per stage, for ``run_summary.json`` and the log.

A :class:`Stages` is a stopwatch with named laps; ``with stages("training"):`` adds the
block's wall time to that stage (a stage entered twice adds up). Stages timed inside
another (the Trainer's evaluations and checkpoints, inside ``training``) are
:meth:`Stages.carve`-d out of it, so the stages add up to the run's wall time.
:func:`process_age` is the time since this process started (Linux), which at the start of a
run is what start-up (interpreter, the command line's own imports, argument parsing) cost; a run
times the import of torch and transformers as a stage of its own ("imports").
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path


class Stages:
    """Seconds per named stage, in the order they were first entered."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def carve(self, outer: str, inner: dict[str, float]) -> None:
        """Move ``inner``'s seconds (measured inside ``outer``) out of ``outer`` into stages of their own."""
        for name, seconds in inner.items():
            if seconds > 0:
                self.add(name, seconds)
                self.seconds[outer] = self.seconds.get(outer, 0.0) - seconds

    def rounded(self) -> dict[str, float]:
        return {name: round(seconds, 3) for name, seconds in self.seconds.items()}

    def text(self) -> str:
        total = sum(self.seconds.values()) or 1.0
        return ", ".join(f"{name} {s:.1f} s ({s / total:.0%})" for name, s in self.seconds.items())


def process_age() -> float | None:
    """Seconds since this process started, or None where /proc does not say (not Linux)."""
    try:
        stat = Path(f"/proc/{os.getpid()}/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])  # 10 ms steps; /proc/stat's btime has 1 s
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
    started = int(stat.rsplit(")", 1)[1].split()[19]) / ticks  # field 22, after the command name: since boot
    return max(0.0, uptime - started)
