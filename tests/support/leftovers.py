"""What testbeds leave behind, and how their processes are marked.

Every testbed is named ``PREFIX...`` (:func:`new_name` makes one unique to
this run) and every process it starts carries ``UBLOG_TESTBED=NAME`` in its
environment: that mark is how a testbed finds its container's PID 1 and how
:func:`leftovers` finds stray processes. Only marked processes are ever
signalled.
"""

from __future__ import annotations

import itertools
import os
import re
import string
from pathlib import Path

from support.host import cgroup_parents, mounts

PREFIX = "ubt"  # every testbed name starts with this; leftovers() looks for it
ENV_MARK = "UBLOG_TESTBED"
NSPAWN_RUN = Path("/run/systemd/nspawn/propagate")

_suffixes = (
    "".join(letters)
    for size in itertools.count(1)
    for letters in itertools.product(string.ascii_lowercase, repeat=size)
)


def new_name() -> str:
    """A testbed or LAN name unique to this run: ``ubt<pid><letters>``."""
    return f"{PREFIX}{os.getpid()}{next(_suffixes)}"


def marked_pids(prefix: str, exact: bool = False) -> dict[int, str]:
    """Processes carrying ``UBLOG_TESTBED=<prefix>...``: pid -> command line."""
    found = {}
    mark = f"{ENV_MARK}={prefix}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            if any(v == mark if exact else v.startswith(mark) for v in environ):
                cmdline = (entry / "cmdline").read_bytes()
                found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode()
        except OSError:  # gone, or a kernel thread
            continue
    return found


def is_namespace_init(pid: int) -> bool:
    """Whether ``pid`` is PID 1 of a PID namespace below ours."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return bool(re.search(r"^NSpid:.*\s1$", status, re.M))


def leftovers(prefix: str = PREFIX) -> list[str]:
    """Everything testbeds named ``prefix...`` may leave behind, still there."""
    found = [f"process {pid}: {cmd}" for pid, cmd in marked_pids(prefix).items()]
    netns = Path("/run/netns")
    if netns.is_dir():
        found += [
            f"netns {p.name}" for p in netns.iterdir() if p.name.startswith(prefix)
        ]
    found += [
        f"link {p.name}"
        for p in Path("/sys/class/net").iterdir()
        if p.name.startswith(prefix)
    ]
    found += [
        f"mount {point}"
        for point in mounts()
        if any(part.startswith(prefix) for part in Path(point).parts)
    ]
    for parent in [*cgroup_parents(), NSPAWN_RUN]:
        if parent.is_dir():
            found += [f"dir {p}" for p in parent.iterdir() if p.name.startswith(prefix)]
    return found
