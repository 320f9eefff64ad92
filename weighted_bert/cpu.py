"""Sharing the CPU: the threads a process may use, and how long they spin.

Two things make a PyTorch process collapse when another one computes on the same cores:
more threads than the cores it may use (torch counts the machine's cores, not a container's
CPU quota), and OpenMP threads that spin at every barrier while the cores they wait for run
the other process: libgomp (PyTorch's OpenMP on Linux) spins 300,000 rounds before a waiting
thread sleeps. :func:`share_the_cpu`, called by the command line before torch is imported,
sets the OpenMP environment for both, unless the user has set it: ``GOMP_SPINCOUNT=1000``
(a waiting thread spins about a microsecond, then sleeps) and, under a limit,
``OMP_NUM_THREADS`` to :func:`usable_cpus`. Measured (``benchmarks/shared_cpu.py``, MiniLM
training on 2 cores, two runs): alone 3,100 and 2,992 real tokens/s against libgomp's
default 3,172 and 3,043; two at once 50% and 54% of alone each against 24% and 26%.
``OMP_WAIT_POLICY=PASSIVE`` (no spinning) kept 82% and 92% in a pair but cost 29% and 25%
alone; 10,000 rounds kept only 19% in a pair.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def usable_cpus(cgroup: Path = CGROUP) -> int:
    """The CPUs this process may run on (its affinity), capped by its cgroup's CPU quota
    (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), rounded up; at least 1."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _quota(cgroup)
    return max(1, min(cpus, math.ceil(quota)) if quota else cpus)


def _quota(cgroup: Path) -> float | None:
    """CPUs' worth of time the cgroup may use (None: no limit, or none found)."""
    v2 = cgroup / "cpu.max"
    try:
        if v2.is_file():
            limit, period = v2.read_text().split()[:2]
            return None if limit == "max" else int(limit) / int(period)
        quota = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


SPINCOUNT = "1000"  # libgomp's rounds of spinning before a waiting thread sleeps (its default: 300,000)


def share_the_cpu(environ=os.environ, cgroup: Path = CGROUP) -> None:
    """Set ``GOMP_SPINCOUNT`` (unless the user chose a spin count or a wait policy) and, where
    an affinity or a CPU quota leaves this process fewer CPUs than the machine has,
    ``OMP_NUM_THREADS`` (unless set); only before torch is loaded (OpenMP reads them when it
    starts). With no such limit torch's own thread count (the physical cores) is kept."""
    if "torch" in sys.modules:
        return
    if "GOMP_SPINCOUNT" not in environ and "OMP_WAIT_POLICY" not in environ:
        environ["GOMP_SPINCOUNT"] = SPINCOUNT
    usable = usable_cpus(cgroup)
    if usable < (os.cpu_count() or usable):
        environ.setdefault("OMP_NUM_THREADS", str(usable))
