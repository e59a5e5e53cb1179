"""Debian's updates of the C libraries reach ublog without rebuilding it
(the oldest release, one booted container).

ublog's C extensions are built against the release's own libraries
(psycopg's C implementation against libpq, Pillow's WebP module against
libwebp), so a security update of a library is an ``apt-get upgrade`` away.
For libpq5 and libwebp7, each in turn: the gunicorn workers first map the
system's copy (not a private copy in the venv); the package is rebuilt as a
newer version whose library is a different file carrying a token of this
run (:mod:`support.rebuilt_debs`) and upgraded from a local repository;
ublog's package and files are left as they were. Until the service
restarts, the workers still map the old, now deleted, file, and
``ublog-ctl status`` names it with the restart to run; after that restart
they map the new one: the installed path, its inode, and bytes (read
through ``/proc/PID/map_files``) holding the token; status then has
nothing left to restart.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from support.figures import report
from support.leftovers import new_name
from support.localrepo import add_repo, apt, install_ublog
from support.maps import Mapping, holds, inode, library, mappings, workers
from support.rebuilt_debs import installed_deb, installed_version, rebuild
from support.site import publish, wait_for_200
from support.testbed import Testbed
from ublog_build.releases import RELEASES

#: The release installed (the oldest).
OLDEST = RELEASES[0]
UNIT = "ublog.service"
#: Where the release's libraries are installed (ublog's own are in its venv).
SYSTEM_LIBS = "/usr/lib/"
#: What the rebuilt packages' versions get appended.
SUFFIX = "+ublogtest1"
#: A 1x1 lossless WebP (the feature-detection image of Google's WebP FAQ).
WEBP = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
#: Seconds the workers get to load a library, requests repeated meanwhile.
LOAD_TIMEOUT = 30


def read_pages(tb) -> None:
    """Requests that query the database: each worker serving one loads
    psycopg's C module, hence libpq."""
    for _ in range(10):
        assert tb.http("/").status == 200


def post_webp(tb) -> None:
    """A post with a WebP image: the worker that validates it loads
    Pillow's WebP module, hence libwebp."""
    publish(tb.session(), "a WebP dot", WEBP, "dot.webp")


@dataclass(frozen=True)
class Library:
    """A library ublog links to: its package, its file name's stem, and
    what makes a worker load it."""

    package: str
    stem: str
    use: Callable[[Testbed], None]


LIBRARIES = [
    Library("libpq5", "libpq", read_pages),
    Library("libwebp7", "libwebp", post_webp),
]


@pytest.fixture(scope="module")
def site(ublog_root, release_deb, tmp_path_factory):
    """ublog of the oldest release installed and serving."""
    with Testbed(
        tarball=ublog_root,
        name=new_name(),
        workdir=tmp_path_factory.mktemp("library-updates"),
    ) as tb:
        install_ublog(tb, release_deb(OLDEST))
        assert wait_for_200(tb).status == 200
        yield tb


def loaded(tb, lib: Library) -> list[Mapping]:
    """The workers' mappings of ``lib``, once a worker has loaded it
    (used again until then, for :data:`LOAD_TIMEOUT` seconds at most)."""
    deadline = time.monotonic() + LOAD_TIMEOUT
    while True:
        lib.use(tb)
        found = library(mappings(tb, workers(tb, UNIT)), lib.stem)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def ublog_state(tb) -> dict[str, str]:
    """What an upgrade of ublog would change: its package's version and
    status, what ``dpkg --verify`` finds, and every shared object of its
    venv (inode, size, path)."""
    return {
        "package": tb.run(
            ["dpkg-query", "-W", "-f", "${Version} ${Status}", "ublog"]
        ).stdout,
        "verify": tb.run(["dpkg", "--verify", "ublog"], check=False).stdout,
        "shared objects": tb.run(
            "find /opt/venvs/ublog -name '*.so*' -printf '%i %s %p\\n' | sort"
        ).stdout,
    }


def upgraded_packages(apt_output: str) -> set[str]:
    """The packages an apt-get run unpacked."""
    return {
        line.split()[1].split(":")[0]
        for line in apt_output.splitlines()
        if line.startswith("Unpacking ")
    }


@dataclass(frozen=True)
class RestartAdvice:
    """What ``ublog-ctl status`` says of libraries replaced under the
    running services: their file names, and the command it advises."""

    libraries: str
    command: list[str]


def restart_advice(tb) -> RestartAdvice:
    status = tb.run(["ublog-ctl", "status"], check=False).stdout
    lines = status.splitlines()
    replaced = [line for line in lines if line.startswith("libraries: replaced")]
    advice = [line for line in lines if "restart to use them:" in line]
    assert replaced and advice, status
    command = advice[0].split("restart to use them:", 1)[1].split()
    assert command[:2] == ["systemctl", "restart"], advice
    return RestartAdvice(replaced[0], command)


def paths(found: list[Mapping]) -> list[str]:
    """``PID: path`` of each process mapping a file, for messages."""
    return sorted({f"{m.pid}: {m.path}" for m in found})


@pytest.mark.parametrize("lib", LIBRARIES, ids=lambda lib: lib.package)
def test_library_update_reaches_the_workers(site, lib, tmp_path):
    """A newer build of ``lib`` serves in the workers once they restart,
    ublog left as it was installed."""
    tb = site
    started = time.monotonic()

    # --- the workers map the system's library, not a copy of their own --------
    before = loaded(tb, lib)
    assert before, f"no worker of {UNIT} maps {lib.stem} after {lib.use.__name__}"
    bundled = paths([m for m in before if not m.path.startswith(SYSTEM_LIBS)])
    assert not bundled, f"ublog's workers map a private {lib.stem}: {bundled}"

    # --- a newer build of the library, from a local repository ----------------
    token = f"ublog-rebuild-{lib.package}-{uuid.uuid4().hex}"
    rebuilt = rebuild(installed_deb(tb, lib.package), tmp_path, token, SUFFIX)
    [path] = {m.path for m in before}
    assert path in rebuilt.libraries, (path, rebuilt.libraries)
    old_inode = inode(tb, path)
    assert {m.inode for m in before} == {old_inode}
    ublog = ublog_state(tb)
    assert ublog["verify"] == "", ublog["verify"]
    add_repo(tb, rebuilt.deb)
    upgrade = apt(tb, "install", "--only-upgrade", lib.package).stdout
    assert upgraded_packages(upgrade) == {lib.package}, upgrade
    assert installed_version(tb, lib.package) == rebuilt.version
    new_inode = inode(tb, path)
    assert new_inode != old_inode
    assert ublog_state(tb) == ublog  # ublog not rebuilt, not reinstalled

    # --- until the service restarts, its workers keep the old file ------------
    stale = library(mappings(tb, sorted({m.pid for m in before})), lib.stem)
    assert stale, f"the workers that mapped {lib.stem} are gone"
    assert all(m.deleted and m.inode == old_inode for m in stale), paths(stale)
    assert not any(holds(tb, m, token) is True for m in stale)
    # ...which `ublog-ctl status` tells the admin, with what to restart.
    restart = restart_advice(tb)
    assert path.rsplit("/", 1)[1] in restart.libraries, restart
    assert UNIT in restart.command, restart

    # --- restarted as status says, they map the new build ---------------------
    tb.run(restart.command)
    assert wait_for_200(tb).status == 200
    after = loaded(tb, lib)
    assert after, f"no worker of {UNIT} maps {lib.stem} after the restart"
    assert not {m.pid for m in after} & {m.pid for m in before}
    new = [m for m in after if m.path == path and m.inode == new_inode]
    assert new == after and not any(m.deleted for m in after), paths(after)
    assert all(holds(tb, m, token) is not False for m in after)
    assert ublog_state(tb) == ublog
    status = tb.run(["ublog-ctl", "status"], check=False).stdout
    assert "libraries: the running services use the installed ones" in status
    report(
        f"{lib.package} {rebuilt.version} in {len({m.pid for m in after})} "
        "restarted worker(s), ublog untouched",
        f"{time.monotonic() - started:.1f} s",
    )
