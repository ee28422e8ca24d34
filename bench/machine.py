"""What machine a run happened on, and who used its CPU while a scenario ran.

The CPU accounting matters on a shared 2-core machine: a scenario measured while
another process (a test suite, a build) took half the machine is not comparable.
Every scenario reports `other_cpu_share`: the fraction of the machine's CPU time
used by processes that are neither the server nor the load generator.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.dataset import REPO_ROOT

TICKS = os.sysconf("SC_CLK_TCK")


def describe() -> dict[str, object]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def git_commit(repo: Path = REPO_ROOT) -> dict[str, str | None]:
    """The checked-out commit, read from ``.git`` files (no git command is run)."""
    git = repo / ".git"
    if git.is_file():  # a worktree: "gitdir: PATH"
        git = (repo / git.read_text().split(":", 1)[1].strip()).resolve()
    try:
        head = (git / "HEAD").read_text().strip()
    except OSError:
        return {"commit": None, "branch": None}
    if not head.startswith("ref: "):
        return {"commit": head, "branch": None}
    ref = head[5:]
    branch = ref.removeprefix("refs/heads/")
    for base in (git, _common_dir(git)):
        loose = base / ref
        if loose.is_file():
            return {"commit": loose.read_text().strip(), "branch": branch}
        packed = base / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return {"commit": line.split()[0], "branch": branch}
    return {"commit": None, "branch": branch}


def _common_dir(git: Path) -> Path:
    common = git / "commondir"
    return (git / common.read_text().strip()).resolve() if common.is_file() else git


# -- CPU accounting -----------------------------------------------------------------


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def group_seconds(pgid: int) -> float:
    """CPU seconds used so far by the live processes of process group `pgid`."""
    total = 0
    for stat in _process_stats():
        if stat["pgrp"] == pgid:
            total += stat["utime"] + stat["stime"]
    return total / TICKS


def pids_seconds(pids: list[int]) -> float:
    """CPU seconds used so far by the live processes `pids` (e.g. PostgreSQL backends)."""
    wanted = set(pids)
    return sum(s["utime"] + s["stime"] for s in _process_stats() if s["pid"] in wanted) / TICKS


def children_seconds() -> float:
    """CPU seconds of this process's children that have been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_stats() -> list[dict[str, int]]:
    stats = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid pgrp ..." — comm may hold spaces and parentheses.
        rest = raw[raw.rindex(")") + 2:].split()
        stats.append({
            "pid": int(entry.name), "ppid": int(rest[1]), "pgrp": int(rest[2]),
            "utime": int(rest[11]), "stime": int(rest[12]), "rss_pages": int(rest[21]),
        })
    return stats


def descendants(pid: int) -> list[dict[str, object]]:
    """Live descendants of `pid` (uvicorn's worker processes), with their resident memory
    (VmRSS from /proc/PID/status, MiB) and what they run."""
    children: dict[int, list[int]] = {}
    for stat in _process_stats():
        children.setdefault(stat["ppid"], []).append(stat["pid"])
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            rss = vm_rss_kib(child)
            if rss is not None:
                found.append({"pid": child, "rss_mib": round(rss / 1024, 1),
                              "command": _command(child)})
            todo.append(child)
    return found


def vm_rss_kib(pid: int) -> int | None:
    """The resident set size of `pid` in KiB (/proc/PID/status VmRSS); None if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:120]


@dataclass
class CpuWindow:
    """CPU use over one measured interval: the machine, the server, the load generator."""

    wall_seconds: float
    machine_seconds: float
    server_seconds: float
    loadgen_seconds: float
    database_seconds: float = 0.0  # a database server's processes serving the app

    @property
    def other_seconds(self) -> float:
        ours = self.server_seconds + self.loadgen_seconds + self.database_seconds
        return max(0.0, self.machine_seconds - ours)

    def describe(self) -> dict[str, float]:
        capacity = self.wall_seconds * (os.cpu_count() or 1)
        return {
            "server_cpu_s": round(self.server_seconds, 2),
            "database_cpu_s": round(self.database_seconds, 2),
            "loadgen_cpu_s": round(self.loadgen_seconds, 2),
            "other_cpu_s": round(self.other_seconds, 2),
            "other_cpu_share": round(self.other_seconds / capacity, 3) if capacity else 0.0,
            "machine_busy_share": round(self.machine_seconds / capacity, 3) if capacity else 0.0,
        }
