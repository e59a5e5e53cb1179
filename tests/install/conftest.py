"""Fixtures for the install tests: the cached base root and testbed names."""

import itertools
import os
import subprocess
from pathlib import Path

import pytest
from testbed import PREFIX, check_prerequisites

ROOT = Path(__file__).resolve().parents[2]
_letters = itertools.cycle("abcdefghijklmnopqrstuvwxyz")


def base_root(prefetch: str = "", suite: str = "bookworm") -> Path:
    """The cached scripts/base-root tarball, built on first use (about a minute)."""
    check_prerequisites()  # fail loudly (never skip) on a host that cannot do it
    argv = [str(ROOT / "scripts" / "base-root"), "--suite", suite]
    if prefetch:
        argv += ["--prefetch", prefetch]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if result.returncode:
        pytest.fail(f"scripts/base-root failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.splitlines()[-1])


@pytest.fixture(scope="session")
def nginx_root() -> Path:
    """A base root with nginx's .debs prefetched (installs need no network)."""
    return base_root("nginx")


@pytest.fixture
def bed_args(tmp_path):
    """Keyword arguments for a Testbed: a name unique to this run, a workdir."""
    return {"name": f"{PREFIX}{os.getpid()}{next(_letters)}", "workdir": tmp_path}


@pytest.fixture(scope="session")
def ublog_root() -> Path:
    """A Debian 12 base root with the .debs of ublog's dependencies prefetched."""
    return release_root("bookworm")


def release_root(release: str) -> Path:
    """A base root of ``release`` with its ublog's dependencies prefetched."""
    from test_deb import deb_depends, the_deb

    return base_root(" ".join(deb_depends(the_deb(release))), suite=release)


@pytest.fixture(scope="session")
def next_deb() -> Path:
    """The next release's .deb (scripts/build-next-version), built once per
    run for the upgrade and cluster tests."""
    from test_upgrade import NEXT

    result = subprocess.run(
        [str(ROOT / "scripts" / "build-next-version"), NEXT],
        capture_output=True,
        text=True,
    )
    if result.returncode:
        pytest.fail(
            "scripts/build-next-version failed:\n"
            + result.stdout[-2000:]
            + result.stderr[-4000:]
        )
    return ROOT / "dist" / "next" / f"ublog_{NEXT}_amd64.deb"
