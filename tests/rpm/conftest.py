"""Fixtures for the RPM tests: the built RPM, rebuilds, a local dnf repository
and Debian roots to install into (see rpmroot.py).

A missing tool or a missing dist/rpm fails the tests loudly; nothing is
skipped.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from rpmroot import (
    DEBIAN_EQUIVALENTS,
    DPKG_PACKAGES,
    REPO_ROOT,
    RpmRoot,
    debian_layer,
    missing_prerequisites,
    rpm_query,
    rpm_requires,
    run,
)

sys.path.insert(0, str(REPO_ROOT / "tests" / "install"))
from testbed import unpacked  # noqa: E402  (the install tests' shared helper)

RPM_DIR = REPO_ROOT / "dist" / "rpm"
BUILD_RPM = REPO_ROOT / "scripts" / "build-rpm"
HERE = Path(__file__).resolve().parent


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
    jobs = {
        "rebuild": {"UBLOG_VERSION": version},
        "upgrade": {"UBLOG_VERSION": next_version(version)},
    }
    procs = {}
    started = time.monotonic()
    for name, env in jobs.items():
        env = {
            **os.environ,
            **env,
            "UBLOG_RELEASE": release,
            "SOURCE_DATE_EPOCH": buildtime,
            "RPM_OUTDIR": str(out / name),
        }
        procs[name] = subprocess.Popen(
            [str(BUILD_RPM)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    built = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=900)
        if proc.returncode:
            pytest.fail(f"scripts/build-rpm ({name}) failed:\n{stderr[-4000:]}")
        built[name] = Path(stdout.splitlines()[-1])
        print(f"\n[figure] build-rpm {name}: {stderr.strip().splitlines()[-1]}")
    print(f"[figure] both builds: {time.monotonic() - started:.1f} s")
    return SimpleNamespace(**built)


@pytest.fixture(scope="session")
def provides_rpm(dist_rpm, tmp_path_factory) -> Path:
    """A noarch RPM that only Provides what dist_rpm Requires (dpkg has it)."""
    unknown = rpm_requires(dist_rpm) - DEBIAN_EQUIVALENTS.keys()
    if unknown:
        pytest.fail(
            f"the RPM requires {sorted(unknown)}: add how the Debian test root "
            "provides it to DEBIAN_EQUIVALENTS in tests/rpm/conftest.py"
        )
    top = tmp_path_factory.mktemp("provides")
    # glibc with the version of the root's libc6 (the same bookworm as here).
    libc6 = run(["dpkg-query", "-W", "-f", "${Version}", "libc6"]).stdout
    versions = {"glibc": libc6.split("-")[0]}
    provides = "".join(
        f"Provides: {name}{f' = {versions[name]}' if name in versions else ''}\n"
        for name in sorted(DEBIAN_EQUIVALENTS)
    )
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
    """(base root, Debian layer): bookworm with python3, PostgreSQL, nginx."""
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "base-root"), "--prefetch", DPKG_PACKAGES],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if result.returncode:
        pytest.fail(f"scripts/base-root failed:\n{result.stderr[-4000:]}")
    base = unpacked(Path(result.stdout.splitlines()[-1]))
    started = time.monotonic()
    layer = debian_layer(base)
    print(f"\n[figure] Debian layer ready in {time.monotonic() - started:.1f} s")
    return base, layer


@pytest.fixture
def rpm_root(debian_layers):
    """A fresh root to install into; removed afterwards, also on failure."""
    base, layer = debian_layers
    with RpmRoot(base, layer) as root:
        yield root
