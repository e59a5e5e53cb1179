"""Shared libraries a running service still uses after they were replaced.

The venv's compiled modules link to the system's libraries (libpq, libjpeg,
libwebp, zlib, ...). When ``apt upgrade`` installs a security update of one
of them, the processes started before keep the old, deleted copy mapped
until they restart. ``ublog-ctl status`` names those libraries (what
needrestart would find), read from ``/proc/PID/maps`` of every process in
the units' control groups.
"""

from __future__ import annotations

import re
from pathlib import Path

#: A shared library's file name: libpq.so.5.15, libc.so.6, _imaging.so...
SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")
DELETED = " (deleted)"


def replaced_in_maps(maps: str) -> set[str]:
    """The shared libraries a ``/proc/PID/maps`` text maps from deleted
    files: replaced on disk since the process mapped them."""
    found = set()
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or not fields[5].endswith(DELETED):
            continue
        path = fields[5][: -len(DELETED)]
        if path.startswith("/") and SHARED_OBJECT.search(path):
            found.add(path)
    return found


#: Where systemd's control groups are, first match wins: the unified
#: hierarchy (cgroup v2, Debian's default), its copy on a hybrid system, and
#: systemd's named hierarchy on the legacy one (some containers).
CGROUP_ROOTS = (
    Path("/sys/fs/cgroup"),
    Path("/sys/fs/cgroup/unified"),
    Path("/sys/fs/cgroup/systemd"),
)


def cgroup_pids(control_group: str, roots=CGROUP_ROOTS) -> list[int]:
    """The processes of a unit's control group (``systemctl show -P
    ControlGroup``), on whichever hierarchy systemd keeps it."""
    for root in roots:
        procs = root / control_group.lstrip("/") / "cgroup.procs"
        try:
            return [int(pid) for pid in procs.read_text().split()]
        except OSError:
            continue
    return []


def replaced_libraries(pids: list[int], proc: Path = Path("/proc")) -> set[str]:
    """What :func:`replaced_in_maps` finds in any of ``pids`` (processes
    that ended or cannot be read are skipped)."""
    found = set()
    for pid in pids:
        try:
            found |= replaced_in_maps((proc / str(pid) / "maps").read_text())
        except OSError:
            continue
    return found
