"""A base-root tarball unpacked once, next to it, for overlay mounts.

Testbeds (and the RPM test roots) mount an overlay with this directory as
the read-only lower layer; every one of them writes to an upper directory of
its own, so one unpacked tree serves them all.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from support.host import sh


def unpacked(tarball: Path) -> Path:
    """The tarball unpacked next to it (once; its users share it read-only)."""
    stat = tarball.stat()
    stem = tarball.name.split(".tar")[0]
    target = tarball.with_name(f"{stem}.{stat.st_mtime_ns}.root")
    if target.is_dir():
        return target
    tmp = tarball.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        sh(
            "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls",
            "-C", str(tmp), "-xf", str(tarball),
        )  # fmt: skip
        tmp.rename(target)
    except OSError:  # another run was faster
        if not target.is_dir():
            raise
    finally:
        if tmp.exists():
            sh("rm", "-rf", "--one-file-system", str(tmp))
    return target
