"""What a service's processes map, read from ``/proc`` inside a testbed.

* :func:`workers`: the children of a unit's main process (gunicorn's
  workers);
* :func:`mappings`: the file mappings of processes (``/proc/PID/maps``),
  each a :class:`Mapping`; :func:`library` keeps those of one shared
  library, Debian's copy (``libNAME.so.N...``) or a copy bundled by
  auditwheel (``libNAME-<hash>.so.N...``);
* :func:`inode`: the inode of a file as the container sees it, to compare
  with a mapping's;
* :func:`holds`: whether the very file a process maps (read through
  ``/proc/PID/map_files``, as root: even when it was replaced or deleted
  since) contains some bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DELETED = " (deleted)"


@dataclass(frozen=True)
class Mapping:
    """One file mapping of a process: a line of ``/proc/PID/maps``."""

    pid: int
    start: str
    end: str
    inode: int
    path: str
    deleted: bool

    @property
    def map_file(self) -> str:
        """The mapped file itself, under ``/proc/PID/map_files``."""
        return f"/proc/{self.pid}/map_files/{self.start}-{self.end}"


def main_pid(tb, unit: str) -> int:
    """The main PID of ``unit`` (0 when it is not running)."""
    out = tb.run(["systemctl", "show", "-p", "MainPID", "--value", unit])
    return int(out.stdout.strip())


def workers(tb, unit: str) -> list[int]:
    """The PIDs of the children of ``unit``'s main process."""
    pid = main_pid(tb, unit)
    assert pid, f"{unit} has no main process"
    found = tb.run(["pgrep", "-P", str(pid)], check=False)
    return sorted(int(child) for child in found.stdout.split())


def parse(pid: int, line: str) -> Mapping | None:
    """A line of ``/proc/PID/maps``; ``None`` for an anonymous mapping."""
    fields = line.split(maxsplit=5)
    if len(fields) < 6 or not fields[5].startswith("/"):
        return None
    span, path = fields[0], fields[5]
    start, end = span.split("-")
    deleted = path.endswith(DELETED)
    if deleted:
        path = path[: -len(DELETED)]
    return Mapping(pid, start, end, int(fields[4]), path, deleted)


def mappings(tb, pids: list[int]) -> list[Mapping]:
    """The file mappings of every process of ``pids`` still alive."""
    script = 'for p; do echo "== $p"; cat "/proc/$p/maps" 2>/dev/null; done'
    out = tb.run(["sh", "-c", script, "sh", *map(str, pids)]).stdout
    found, pid = [], 0
    for line in out.splitlines():
        if line.startswith("== "):
            pid = int(line[3:])
        elif (mapping := parse(pid, line)) is not None:
            found.append(mapping)
    return found


def library(found: list[Mapping], stem: str) -> list[Mapping]:
    """The mappings of library ``stem`` (``"libpq"``), system or bundled;
    not those of other libraries named alike (``libwebpmux``)."""
    name = re.compile(rf"{re.escape(stem)}(-[0-9a-f]{{8}})?\.so(\.|$)")
    return [m for m in found if name.match(m.path.rsplit("/", 1)[-1])]


def inode(tb, path: str) -> int:
    """The inode of ``path`` (symbolic links followed) in the container."""
    return int(tb.run(["stat", "-L", "-c", "%i", path]).stdout)


def holds(tb, mapping: Mapping, data: str) -> bool | None:
    """Whether the file ``mapping`` maps contains ``data``; None when its
    process has ended meanwhile (gunicorn recycles workers)."""
    found = tb.run(["grep", "-Fqa", data, mapping.map_file], check=False)
    if found.returncode > 1:
        if tb.run(["test", "-d", f"/proc/{mapping.pid}"], check=False).returncode:
            return None
        raise AssertionError(f"cannot read {mapping.map_file}: {found.stderr}")
    return found.returncode == 0
