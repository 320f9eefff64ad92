"""The threads a process may use (affinity and cgroup quota, worked by hand) and the OpenMP
environment the command line starts with."""

import os
import subprocess
import sys

import pytest

from weighted_bert.cpu import share_the_cpu, usable_cpus


def _cgroup(tmp_path, v2=None, v1=None):
    if v2 is not None:
        (tmp_path / "cpu.max").write_text(v2 + "\n")
    if v1 is not None:
        (tmp_path / "cpu").mkdir()
        (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(f"{v1[0]}\n")
        (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(f"{v1[1]}\n")
    return tmp_path


@pytest.mark.parametrize("v2, v1, expected", [
    ("150000 100000", None, 2),  # 1.5 CPUs of time: 2 threads (rounded up)
    ("50000 100000", None, 1),
    ("max 100000", None, 8),  # no limit: the affinity's 8
    (None, (200000, 100000), 2),  # cgroup v1
    (None, (-1, 100000), 8),  # v1's "no limit"
    (None, None, 8),  # no cgroup files
    ("900000 100000", None, 8),  # a quota above the affinity: the affinity
])
def test_usable_cpus_is_the_affinity_capped_by_the_quota(tmp_path, monkeypatch, v2, v1, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert usable_cpus(_cgroup(tmp_path, v2, v1)) == expected


def test_share_the_cpu_sets_only_what_the_user_left_unset(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # as before torch is loaded
    environ = {}
    share_the_cpu(environ, _cgroup(tmp_path, "200000 100000"))
    assert environ == {"GOMP_SPINCOUNT": "1000", "OMP_NUM_THREADS": "2"}  # a container of 2 CPUs on 8
    for chosen in ({"OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": "4"}, {"GOMP_SPINCOUNT": "300000"}):
        environ = dict(chosen)
        share_the_cpu(environ, _cgroup(tmp_path / "none"))
        assert environ == chosen  # the user's spin count or wait policy, and thread count, kept
    environ = {}
    share_the_cpu(environ, _cgroup(tmp_path / "none"))  # no limit: torch's own thread count is kept
    assert environ == {"GOMP_SPINCOUNT": "1000"}


def test_share_the_cpu_changes_nothing_once_torch_is_loaded(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch", object()))
    environ = {}
    share_the_cpu(environ, tmp_path)
    assert environ == {}


def test_the_command_line_sets_the_spin_count_before_torch_starts():
    script = ("import os, sys\nfrom weighted_bert.cli import main\ntry:\n    main(['predict', '--help'])\n"
              "except SystemExit:\n    pass\nimport torch\nprint(os.environ.get('GOMP_SPINCOUNT'))")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip().splitlines()[-1] == "1000"
