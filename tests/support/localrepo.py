"""Install .debs inside a testbed from a local apt repository, as apt would.

:func:`add_repo` copies .debs into ``/srv/ublog-repo`` in the container,
indexes them (``apt-ftparchive``), makes that directory an apt source and
updates from it alone (the Debian mirror is unreachable: the dependencies
come from the base root's prefetched .debs). :func:`apt` runs apt-get with
Debian's default of installing Recommends; :func:`install_ublog` does both
and checks that the postinst's setup completed. :func:`flat_repo` makes
such a repository on the host (for a bind mount).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = "/srv/ublog-repo"
LOCAL_LIST = "/etc/apt/sources.list.d/ublog-local.list"
# apt-get update of the local repository only (the mirror is unreachable).
APT_LOCAL = (
    f"-o Dir::Etc::sourcelist={LOCAL_LIST} -o Dir::Etc::sourceparts=- "
    "-o APT::Get::List-Cleanup=0"
)


def apt(tb, *args: str, timeout: float = 600, recommends: bool = True):
    """apt-get in the testbed; with Recommends, as Debian's default is (the
    base root turns them off for its own set-up). Its stdout holds its
    stderr too, as a terminal shows them: the maintainer scripts of a
    package using debconf write everything to stderr."""
    return tb.run(
        "apt-get -y -q -o Dpkg::Options::=--force-confdef "
        f"-o APT::Install-Recommends={str(recommends).lower()} "
        + " ".join(args)
        + " 2>&1",
        timeout=timeout,
    )


def flat_repo(directory: Path, debs) -> Path:
    """``directory`` (made) holding hard links to ``debs`` and their
    ``Packages`` index: the source ``deb [trusted=yes] file:DIR ./``."""
    directory.mkdir(parents=True)
    for deb in debs:
        (directory / deb.name).hardlink_to(deb)
    packages = subprocess.run(
        ["apt-ftparchive", "packages", "."],
        cwd=directory, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (directory / "Packages").write_text(packages)
    return directory


def add_repo(tb, *debs: Path) -> None:
    """Put ``debs`` into the container's local repository and update from it."""
    for deb in debs:
        tb.copy_in(deb, f"{REPO}/{deb.name}")
    tb.run(f"cd {REPO} && apt-ftparchive packages . > Packages")
    tb.run(f"echo 'deb [trusted=yes] file:{REPO} ./' > {LOCAL_LIST}")
    tb.run(f"apt-get update -q {APT_LOCAL}")


def install_ublog(
    tb, deb: Path, recommends: bool = True
) -> subprocess.CompletedProcess:
    """``apt-get install ublog`` from a repository holding ``deb``; the
    postinst must say its setup is done."""
    add_repo(tb, deb)
    out = apt(tb, "install", "ublog", recommends=recommends)
    assert "ublog-ctl setup: done" in out.stdout, out.stdout[-3000:]
    return out
