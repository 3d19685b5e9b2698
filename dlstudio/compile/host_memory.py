"""How much memory this process may still use on the host: the smallest of what the kernel
says is available, what the process's control groups still allow (v2 and v1, every level up to
the root), and what its address-space limit (``ulimit -v``, RLIMIT_AS) leaves."""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF = Path("/proc/self")
_UNLIMITED_V1 = 1 << 60  # cgroup v1 writes a huge number (PAGE_COUNTER_MAX) for "no limit"


def host_available(cgroup_root: Path = CGROUP_ROOT, proc_self: Path = PROC_SELF) -> list[int]:
    """Every figure that bounds this process's memory (bytes; empty when none is known)."""
    figures = [meminfo_available(), *cgroup_available(cgroup_root, proc_self)]
    figures.append(address_space_available(proc_self))
    known = [f for f in figures if f is not None]
    if not known:
        physical = physical_memory()
        known = [physical] if physical is not None else []
    return known


def meminfo_available() -> int | None:
    """The kernel's MemAvailable (None off Linux)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cgroup_available(cgroup_root: Path = CGROUP_ROOT, proc_self: Path = PROC_SELF) -> list[int]:
    """Limit minus usage of each memory cgroup of this process that has a limit, from its own
    group up to the root (a parent's limit binds its children too)."""
    try:
        lines = (proc_self / "cgroup").read_text().splitlines()
    except OSError:
        lines = []
    figures: list[int] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # cgroup v2: one unified hierarchy
            figures += _walk(cgroup_root, path, "memory.max", "memory.current")
        elif "memory" in controllers.split(","):  # cgroup v1: the memory hierarchy
            figures += _walk(
                cgroup_root / "memory", path, "memory.limit_in_bytes", "memory.usage_in_bytes"
            )
    return figures


def _walk(mount: Path, path: str, limit_name: str, usage_name: str) -> list[int]:
    figures = []
    folder = mount / path.strip("/")
    while True:
        figure = _group_room(folder, limit_name, usage_name)
        if figure is not None:
            figures.append(figure)
        if folder == mount or mount not in folder.parents:
            return figures
        folder = folder.parent


def _group_room(folder: Path, limit_name: str, usage_name: str) -> int | None:
    try:
        limit = (folder / limit_name).read_text().strip()
        if limit == "max" or int(limit) >= _UNLIMITED_V1:
            return None
        return max(0, int(limit) - int((folder / usage_name).read_text().strip()))
    except (OSError, ValueError):
        return None


def address_space_available(proc_self: Path = PROC_SELF) -> int | None:
    """RLIMIT_AS (``ulimit -v``) minus the address space already mapped; None when unlimited."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    try:
        pages = int((proc_self / "statm").read_text().split()[0])
        used = pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0
    return max(0, soft - used)


def physical_memory() -> int | None:
    """Installed memory (the last resort when nothing better is known)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None
