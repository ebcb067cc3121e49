"""How many CPUs this process may really use: its affinity and its cgroup's CPU quota, not the core count.

A container limited to 1.5 CPUs on a 16-core host sees 16 cores in ``os.cpu_count()``,
and torch starts 16 threads that wait on each other whenever the quota runs out. The
commands size their threads and worker processes by :func:`available_cpus` instead.
``BRANDNER_CPUS`` overrides it (a whole number at least 1).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from brandner.errors import BrandnerError

CGROUP = Path("/sys/fs/cgroup")
VARIABLE = "BRANDNER_CPUS"


def available_cpus(cgroup: Path = CGROUP, proc_self_cgroup: Path = Path("/proc/self/cgroup")) -> int:
    """The CPUs this process may use: ``$BRANDNER_CPUS`` if set, else the fewer of the CPUs in its
    affinity mask and its cgroup's quota rounded up (at least 1)."""
    override = os.environ.get(VARIABLE)
    if override is not None:
        if not override.strip().isdigit() or int(override) < 1:
            raise BrandnerError(f"{VARIABLE} must be a whole number at least 1, got {override!r}")
        return int(override)
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        count = os.cpu_count() or 1
    quota = cpu_quota(cgroup, proc_self_cgroup)
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def cpu_quota(cgroup: Path = CGROUP, proc_self_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (e.g. 1.5), or None if it has none (or
    it cannot be read). cgroup v2's ``cpu.max`` (``"150000 100000"`` or ``"max 100000"``),
    else v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1: none); the limit of
    the process's own group and of every group above it counts, the smallest wins."""
    quotas = [q for directory in _groups(cgroup, proc_self_cgroup) if (q := _read_quota(directory)) is not None]
    return min(quotas) if quotas else None


def _groups(cgroup: Path, proc_self_cgroup: Path) -> list[Path]:
    """The cgroup directories that may hold this process's CPU limit: its own group's and those
    above it, for v2 (the ``0::`` line) and v1 (the ``cpu`` controller), where they exist."""
    try:
        lines = proc_self_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    paths = []
    for line in lines:
        _, controllers, group = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            paths.append(_chain(cgroup, group))
        elif "cpu" in controllers.split(","):
            paths.append(_chain(cgroup / controllers, group) + _chain(cgroup / "cpu", group)
                         + _chain(cgroup / "cpu,cpuacct", group))
    found = [directory for chain in paths for directory in chain if directory.is_dir()]
    return found or [cgroup, cgroup / "cpu"]


def _chain(root: Path, group: str) -> list[Path]:
    """``root/group`` and each directory above it up to ``root``."""
    parts = [p for p in group.strip().split("/") if p and p != ".."]
    return [root.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _read_quota(directory: Path) -> float | None:
    try:
        fields = (directory / "cpu.max").read_text().split()
        if len(fields) == 2 and fields[0] != "max":
            return int(fields[0]) / int(fields[1])
        return None
    except (OSError, ValueError, ZeroDivisionError):
        pass
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        period = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None
