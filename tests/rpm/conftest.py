"""Fixtures for the RPM tests: the built RPM, rebuilds, a local dnf repository
and Debian roots to install into (see rpmroot.py).

A missing tool or a missing dist/rpm fails the tests loudly; nothing is
skipped.
"""

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from rpmroot import (
    DPKG_PACKAGES,
    ROOT_RELEASE,
    RpmRoot,
    debian_equivalent,
    debian_layer,
    external_requires,
    missing_prerequisites,
    rpm_query,
    run,
)
from support.figures import report
from support.rootfs import unpacked
from ublog_build import base_root
from ublog_build import rpm as rpms
from ublog_build.errors import BuildError
from ublog_build.paths import DIST

RPM_DIR = DIST / "rpm"
HERE = Path(__file__).resolve().parent


def built(make, *args, **kwargs):
    """``make(*args)``, a pipeline build; its error fails the test."""
    try:
        return make(*args, **kwargs)
    except BuildError as e:
        pytest.fail(f"{e}\n{e.details}" if e.details else str(e))


@pytest.fixture(scope="session", autouse=True)
def prerequisites():
    problems = missing_prerequisites()
    if problems:
        pytest.fail(
            "RPM tests cannot run: " + "; ".join(problems) + " (scripts/install-deps)"
        )


@pytest.fixture(scope="session")
def dist_rpm() -> Path:
    """The RPM `make rpm` built."""
    found = sorted(RPM_DIR.glob("ublog-*.x86_64.rpm"))
    if len(found) != 1:
        pytest.fail(f"expected one ublog RPM in {RPM_DIR} (run `make rpm`): {found}")
    return found[0]


def next_version(version: str) -> str:
    """A version rpm sorts after ``version``: 0.1.0 -> 0.1.1."""
    head, _, last = version.rpartition(".")
    if last.isdigit():
        return f"{head}.{int(last) + 1}" if head else str(int(last) + 1)
    return f"{version}.1"


@pytest.fixture(scope="session")
def rpm_builds(dist_rpm, tmp_path_factory):
    """Two more builds, run side by side (one per core):

    * ``rebuild``: the dist RPM's version and SOURCE_DATE_EPOCH (its build
      time) again, in another temporary build tree: must be byte-identical;
    * ``upgrade``: the next version from the same wheels, to upgrade to.
    """
    version, release, buildtime = rpm_query(
        dist_rpm, "%{VERSION} %{RELEASE} %{BUILDTIME}"
    ).split()
    out = tmp_path_factory.mktemp("rpm-builds")
    versions = {"rebuild": version, "upgrade": next_version(version)}

    def build(name: str) -> Path:
        started = time.monotonic()
        path = built(
            rpms.build,
            version=versions[name],
            release=release,
            outdir=out / name,
            epoch=int(buildtime),
        )
        report(
            f"rpm build {name}",
            f"{time.monotonic() - started:.1f} s, {path.stat().st_size / 1e6:.1f} MB",
        )
        return path

    started = time.monotonic()
    with ThreadPoolExecutor(len(versions)) as pool:
        paths = dict(zip(versions, pool.map(build, versions), strict=True))
    report("both builds", f"{time.monotonic() - started:.1f} s")
    return SimpleNamespace(**paths)


@pytest.fixture(scope="session")
def provides_rpm(dist_rpm, tmp_path_factory) -> Path:
    """A noarch RPM that only Provides what dist_rpm Requires (dpkg has it)."""
    requires = external_requires(dist_rpm)
    unknown = {name for name in requires if debian_equivalent(name) is None}
    if unknown:
        pytest.fail(
            f"the RPM requires {sorted(unknown)}: add how the Debian test root "
            "provides it to DEBIAN_EQUIVALENTS or SONAMES in tests/rpm/rpmroot.py"
        )
    top = tmp_path_factory.mktemp("provides")
    provides = "".join(f"Provides: {name}\n" for name in sorted(requires))
    spec = (HERE / "dpkg-provides.spec").read_text()
    spec = spec.replace("@PROVIDES@\n", provides)
    (top / "dpkg-provides.spec").write_text(spec)
    run(
        ["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}",
         str(top / "dpkg-provides.spec")],
        env={**os.environ, "HOME": str(top)},
    )  # fmt: skip
    (found,) = (top / "RPMS" / "noarch").glob("*.rpm")
    return found


@pytest.fixture(scope="session")
def repo(dist_rpm, rpm_builds, provides_rpm, tmp_path_factory) -> Path:
    """A createrepo_c repository: the dist RPM, its next version, the provides."""
    path = tmp_path_factory.mktemp("repo")
    for rpm in (dist_rpm, rpm_builds.upgrade, provides_rpm):
        shutil.copy2(rpm, path)
    run(["createrepo_c", "--quiet", str(path)])
    return path


@pytest.fixture(scope="session")
def debian_layers():
    """(base root, Debian layer): the root's release with python3,
    PostgreSQL and nginx."""
    tarball = built(base_root.build, ROOT_RELEASE, prefetch=DPKG_PACKAGES.split())
    base = unpacked(tarball)
    started = time.monotonic()
    layer = debian_layer(base)
    report("Debian layer ready", f"{time.monotonic() - started:.1f} s")
    return base, layer


@pytest.fixture
def rpm_root(debian_layers):
    """A fresh root to install into; removed afterwards, also on failure."""
    base, layer = debian_layers
    with RpmRoot(base, layer) as root:
        yield root
