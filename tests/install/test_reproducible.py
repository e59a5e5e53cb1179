"""The released .debs are reproducible, two ways.

* A second build of the same source, for the same release, in a fresh clean
  pbuilder chroot (``ublog_build.deb.build_release``, as ``make`` does),
  gives a byte-identical .deb, for every release.
* Debian's ``reprotest`` builds the source package of the build host's
  release twice on this host (its ``null`` backend: dh-virtualenv with the
  release's own python3, the quick build of ``tools/ublog-build host-deb``),
  the second time varying what reprotest varies: build path, date and time
  (faketime, months ahead), umask, locale and language, time zone, hostname
  and domain name, user and group (``nobody``), HOME, PATH, an extra
  environment variable, kernel personality (setarch), ASLR and the number
  of CPUs. The two .debs must be identical. Only file ordering is left out:
  disorderfs needs /dev/fuse, which only root may open here, and the varied
  build runs as another user.

On a difference, the test names every file whose contents, mode, owner or
mtime differ inside the two packages (and the control members), which is
what diffoscope would point at first.
"""

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from support.digests import sha256
from support.figures import report
from ublog_build import deb, paths, releases
from ublog_build.releases import RELEASES

#: reprotest 0.7.23 runs ``sudo -h localhost ...``, which Debian 12's sudo
#: refuses ("a remote host may only be specified when listing privileges"):
#: run it with plain ``sudo`` (later reprotest releases dropped the ``-h``).
REPROTEST = (
    "import sys, reprotest, reprotest.build; "
    "reprotest.build.SUDO[:] = ['sudo']; "
    "sys.argv[0] = 'reprotest'; "
    "sys.exit(reprotest.main())"
)
#: Everything reprotest varies but file ordering; the other user is nobody,
#: the hostname is set through sudo (we are root).
VARIATIONS = "+all,-fileordering,user_group.available+=nobody:nogroup"
VARIATIONS += ",domain_host.use_sudo=1"
#: The quick build (no dpkg-buildpackage: it writes to .., which the other
#: user may not), the .deb kept inside the tree.
BUILD = "mkdir -p out && DEB_RULES_REQUIRES_ROOT=no UBLOG_DEB_DESTDIR=out " + (
    "debian/rules binary"
)


def members(deb_file: Path, member: str) -> dict[str, tuple]:
    """``dpkg-deb --fsys-tarfile`` (or --ctrl-tarfile) as {name: metadata}."""
    option = "--fsys-tarfile" if member == "data" else "--ctrl-tarfile"
    raw = subprocess.run(
        ["dpkg-deb", option, str(deb_file)], capture_output=True, check=True
    ).stdout
    found = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for info in tar:
            data = tar.extractfile(info).read() if info.isfile() else b""
            found[info.name] = (
                info.mode,
                info.uid,
                info.gid,
                info.mtime,
                info.linkname,
                hashlib.sha256(data).hexdigest(),
            )
    return found


def differences(a: Path, b: Path) -> list[str]:
    out = []
    for member in ("control", "data"):
        left, right = members(a, member), members(b, member)
        for name in sorted(left.keys() | right.keys()):
            if left.get(name) != right.get(name):
                out.append(f"{member}: {name}: {left.get(name)} != {right.get(name)}")
    return out


def assert_identical(first: Path, second: Path) -> None:
    if sha256(first) != sha256(second):
        diff = differences(first, second)
        pytest.fail(
            f"{first.name} differs between two builds; {len(diff)} members:\n"
            + "\n".join(diff[:60])
        )


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.codename)
def test_a_second_build_is_byte_identical(release, tmp_path):
    first = deb.release_deb(release)
    started = time.monotonic()
    second = deb.build_release(release, tmp_path)
    report(f"{release.codename}: second build", f"{time.monotonic() - started:.0f} s")
    assert second.name == first.name
    assert_identical(first, second)
    report(f"{release.codename}: sha256 of both builds", sha256(first)[:16])


#: What reprotest's variations need (scripts/install-deps installs them).
NEEDED = {
    "reprotest": "/usr/bin/reprotest",
    "faketime": "/usr/bin/faketime",
    "sudo": "/usr/bin/sudo",
    "locales-all": "/usr/lib/locale/et_EE.utf8",
}


def test_reprotest_varies_what_a_build_may_see(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("must run as root (reprotest's other user and hostname)")
    missing = [name for name, path in NEEDED.items() if not Path(path).exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)} (scripts/install-deps)")
    release = releases.host()
    subprocess.run(["dpkg-checkbuilddeps"], cwd=paths.ROOT, check=True)
    source = deb.source_tree(release, tmp_path / "source")
    store = tmp_path / "store"
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "SOURCE_DATE_EPOCH": str(paths.source_date_epoch()),
        "DEB_BUILD_OPTIONS": "nocheck",
    }
    started = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/python3", "-c", REPROTEST, "--verbosity", "2"]
        + ["--no-diffoscope", "--store-dir", str(store)]
        + ["--variations", VARIATIONS, "-c", BUILD, str(source), "out/*.deb"]
        + ["--", "null"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    report("reprotest: two builds on the host", f"{time.monotonic() - started:.0f} s")
    log = result.stdout + result.stderr
    marker = "INFO:reprotest.build:"
    varied = [
        line.split(marker, 1)[1]
        for line in log.splitlines()
        if line.startswith(marker) and "variation:" in line
    ]
    print("\n".join(varied), file=sys.stderr)
    control, experiment = (
        sorted(store.glob(f"{build}/source-root/out/*.deb"))
        for build in ("control", "experiment-1")
    )
    if result.returncode == 1 and len(control) == len(experiment) == 1:
        assert_identical(control[0], experiment[0])
    assert result.returncode == 0, log[-6000:]
    assert "Reproduction successful" in result.stdout, log[-6000:]
    # What the issue names really varied: build path, date and time, umask,
    # locale, hostname, and the user (a sudo to nobody in the build script,
    # which --verbosity 2 logs).
    for variation in ("BUILD_PATH", "FAKETIME", "UMASK", "LOCALE", "DOMAIN_HOST"):
        assert any(line.startswith(variation) for line in varied), varied
    script = log.split("BEGIN REPROTEST BUILD SCRIPT")[-1]
    assert "-u nobody -g nogroup" in script, "the varied build did not run as nobody"
    version = release.deb_version(deb.upstream_version())
    assert [p.name for p in control] == [f"ublog_{version}_amd64.deb"]
    built = sha256(control[0])
    report(f"{release.codename}: sha256 of both reprotest builds", built[:16])
    # Not asserted: the host may have newer updates than the clean chroot.
    same = built == sha256(deb.release_deb(release))
    report(f"{release.codename}: the same bytes as the pbuilder build", same)
