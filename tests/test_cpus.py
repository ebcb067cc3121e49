"""brandner.cpus: the CPUs a process may use, from its affinity and its cgroup's CPU quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brandner.cpus import available_cpus, cpu_quota
from brandner.errors import BrandnerError


def tree(root: Path, files: dict[str, str], membership: str) -> tuple[Path, Path]:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    (root / "self-cgroup").write_text(membership)
    return root / "fs", root / "self-cgroup"


def test_cgroup_v2_quota_of_the_process_group(tmp_path):
    fs, self_cgroup = tree(tmp_path, {"fs/cpu.max": "max 100000\n", "fs/job/cpu.max": "150000 100000\n"}, "0::/job\n")
    assert cpu_quota(fs, self_cgroup) == 1.5


def test_cgroup_v2_a_parent_limit_counts_too(tmp_path):
    fs, self_cgroup = tree(tmp_path, {"fs/a/cpu.max": "50000 100000\n", "fs/a/b/cpu.max": "max 100000\n"}, "0::/a/b\n")
    assert cpu_quota(fs, self_cgroup) == 0.5


def test_cgroup_v2_without_a_limit(tmp_path):
    fs, self_cgroup = tree(tmp_path, {"fs/cpu.max": "max 100000\n"}, "0::/\n")
    assert cpu_quota(fs, self_cgroup) is None


def test_cgroup_v1_quota_and_no_quota(tmp_path):
    membership = "4:memory:/x\n2:cpu,cpuacct:/docker/abc\n0::/\n"
    fs, self_cgroup = tree(tmp_path, {"fs/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "200000\n",
                                      "fs/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"}, membership)
    assert cpu_quota(fs, self_cgroup) == 2.0
    (tmp_path / "fs/cpu,cpuacct/docker/abc/cpu.cfs_quota_us").write_text("-1\n")
    assert cpu_quota(fs, self_cgroup) is None


def test_unreadable_or_garbled_files_mean_no_quota(tmp_path):
    fs, self_cgroup = tree(tmp_path, {"fs/cpu.max": "lots\n"}, "garbage line\n")
    assert cpu_quota(fs, self_cgroup) is None
    assert cpu_quota(tmp_path / "missing", tmp_path / "missing-too") is None


def test_available_cpus_is_the_quota_rounded_up_within_the_affinity(tmp_path, monkeypatch):
    monkeypatch.delenv("BRANDNER_CPUS", raising=False)
    affinity = len(os.sched_getaffinity(0))
    fs, self_cgroup = tree(tmp_path, {"fs/cpu.max": "50000 100000\n"}, "0::/\n")
    assert available_cpus(fs, self_cgroup) == 1  # half a CPU: one thread, not zero
    (tmp_path / "fs/cpu.max").write_text("6400000 100000\n")  # 64 CPUs: the affinity is the limit
    assert available_cpus(fs, self_cgroup) == affinity
    assert available_cpus() >= 1  # this machine, whatever it is


def test_the_environment_overrides(monkeypatch):
    monkeypatch.setenv("BRANDNER_CPUS", "3")
    assert available_cpus() == 3
    for bad in ["0", "two", "-1"]:
        monkeypatch.setenv("BRANDNER_CPUS", bad)
        with pytest.raises(BrandnerError, match="BRANDNER_CPUS"):
            available_cpus()
