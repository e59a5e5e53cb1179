"""The host side of the harness: run a host command, find a tool, read the
mounts and cgroups, and check that this host can run testbeds at all.

A missing prerequisite raises :class:`~support.errors.TestbedError`: the
install tests fail loudly on a host that cannot run them, never skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from support.errors import TestbedError


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a host command, raising TestbedError with its stderr on failure."""
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode:
        raise TestbedError(
            f"{' '.join(argv)} failed (exit {result.returncode}): "
            f"{result.stderr.strip()}"
        )
    return result


def which(tool: str) -> str | None:
    """Find a host tool, also in the sbin directories a non-login PATH lacks."""
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")


def check_prerequisites(tarball: Path | None = None) -> None:
    """Raise TestbedError unless this host can run testbeds."""
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root")
    tools = ["systemd-nspawn", "ip", "nsenter", "tar", "mount", "umount"]
    if tarball and tarball.suffix == ".zst":
        tools.append("zstd")
    problems += [f"{tool} not found on PATH" for tool in tools if not which(tool)]
    if "\toverlay\n" not in Path("/proc/filesystems").read_text():
        problems.append("the kernel has no overlay file system")
    if tarball and not tarball.is_file():
        problems.append(
            f"no tarball at {tarball} (build it with `tools/ublog-build base-root`)"
        )
    if problems:
        raise TestbedError("testbed prerequisites missing: " + "; ".join(problems))


def mounts() -> list[str]:
    """Mount points of this mount namespace, unescaped."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        points.append(re.sub(r"\\(\d{3})", lambda m: chr(int(m[1], 8)), point))
    return points


def cgroup_parents() -> list[Path]:
    """The cgroup directories nspawn will nest its own cgroups under."""
    own = dict(
        line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().split()
    )
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():  # pure cgroup v2
        return [root / own[""].lstrip("/")]
    parents = [root / "systemd" / own.get("name=systemd", "/").lstrip("/")]
    if (root / "unified" / "cgroup.procs").exists():  # hybrid
        parents.append(root / "unified" / own[""].lstrip("/"))
    return parents
