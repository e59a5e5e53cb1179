"""The built artifacts the tests use, through the pipeline's API.

Every .deb, base root and rebuild comes from ``ublog_build`` (tools/); the
releases come from its release table, so no codename or Python version is
written here or in a test. A missing artifact raises
``ublog_build.errors.BuildError``, whose message names the make target.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ublog_build import base_root, deb
from ublog_build.releases import Release


def deb_field(path: Path, field: str) -> str:
    """One control field of a .deb."""
    return subprocess.run(
        ["dpkg-deb", "-f", str(path), field],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def deb_version(path: Path) -> str:
    return deb_field(path, "Version")


def upstream_version(path: Path) -> str:
    """The version without the release's suffix: what the site shows."""
    return deb_version(path).split("+", 1)[0]


def ublog_root(release: Release, *extra: str) -> Path:
    """A base root of ``release`` with the .debs of ublog's Depends and
    Recommends (and of ``extra`` packages) prefetched: installs in it need
    no network."""
    wanted = [*deb.relations(deb.release_deb(release)), *extra]
    return base_root.build(release, prefetch=wanted)
