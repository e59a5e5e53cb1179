"""The offline repository (`make repo`, dist/repo/) used with no network.

* apt: a root of every Debian release of the table, whose only apt source
  is the repository (its suite of that release), booted under systemd-nspawn in a
  network namespace with no route anywhere (a connection to the Debian
  mirror is shown to fail), with nothing prefetched: it installs
  ``ublog`` with signature checking on (the sources line and key handling
  copied from dist/repo/README, no ``trusted=yes``) and serves the site to
  the host. Tampered copies are refused: a modified InRelease, a modified
  Release (detached signature), an unsigned repository, a modified .deb.
* pip: a fresh venv of Debian's python3 installs ublog-posts from
  ``simple/`` inside ``unshare -n`` (no network at all); a tampered wheel is
  refused by its sha256.

Figures (repository size, package count, offline install time) are printed:
run with -s to see them.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from support.digests import sha256
from support.figures import report
from support.site import wait_for_200
from support.testbed import Testbed
from ublog_build.paths import DIST
from ublog_build.releases import RELEASES

REPO = DIST / "repo"
MOUNT = "/media/usb/ublog-repo"  # where dist/repo/README tells admins to put it
APT = "apt-get -q -o Dpkg::Options::=--force-confdef"


@pytest.fixture(scope="module")
def repo(release_deb) -> Path:
    """dist/repo, checked to be built from the current dist/deb .debs."""
    debs = [release_deb(release) for release in RELEASES]
    if not (REPO / "README").is_file():
        pytest.fail(f"no {REPO}/README: run `make repo`")
    for deb in debs:
        pooled = list((REPO / "apt" / "pool").rglob(deb.name))
        if len(pooled) != 1 or sha256(pooled[0]) != sha256(deb):
            pytest.fail(f"{REPO} does not hold the current {deb.name}: `make repo`")
    size = subprocess.run(
        ["du", "-sm", str(REPO)], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    report("dist/repo size", f"{size} MiB")
    report("Debian packages in apt/", len(list((REPO / "apt").rglob("*.deb"))))
    report("Python distributions in python/", len(list(REPO.glob("python/*[lz]"))))
    return REPO


def readme_sources_line(repo: Path, release) -> str:
    """The sources.list line an admin copies from the README, for ``release``
    (the README's SUITE)."""
    text = (repo / "README").read_text()
    lines = re.findall(r"^.*'(deb \[signed-by=[^']+)'", text, re.M)
    assert len(lines) == 1, lines
    assert "trusted=yes" not in lines[0]
    assert f"file:{MOUNT}/apt SUITE main" in lines[0]
    suites = " ".join(r.codename for r in RELEASES)
    assert f"suites here: {suites})" in text
    return lines[0].replace(" SUITE ", f" {release.codename} ")


def mirror_address() -> str:
    return socket.gethostbyname("deb.debian.org")


# -- apt -------------------------------------------------------------------------


def apt_update_from(tb, name: str, line: str):
    """apt-get update with ``line`` as the only source, in lists of its own."""
    tb.run(f"mkdir -p /tmp/{name}/lists/partial && echo '{line}' > /tmp/{name}/list")
    opts = (
        f"-o Dir::Etc::sourcelist=/tmp/{name}/list -o Dir::Etc::sourceparts=- "
        f"-o Dir::State::Lists=/tmp/{name}/lists"
    )
    return opts, tb.run(f"apt-get update {opts}", check=False)


#: How apt says a signature does not verify: gpgv (older releases), sqv (newer).
BAD_SIGNATURE = ("BADSIG", "signatures were invalid", "signature verification failed")


def assert_refused(result, *markers):
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert any(m in out for m in markers), out


def from_the_repo(release) -> str:
    """Packages whose installed version must come from the repository."""
    return f"ublog nginx postgresql-{release.postgresql} python{release.python} libpq5"


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.codename)
def test_airgapped_apt_install_from_the_signed_repository(
    repo, release, plain_root, bed_args
):
    line = readme_sources_line(repo, release)
    suite = release.codename
    with Testbed(tarball=plain_root(release), **bed_args) as tb:
        # Nothing prefetched, no Debian mirror: apt can only use the repo.
        tb.run(
            "rm -f /var/cache/apt/archives/*.deb /etc/apt/sources.list.d/* "
            "&& rm -rf /var/lib/apt/lists/* && : > /etc/apt/sources.list "
            "&& apt-get clean"
        )
        # No route anywhere: not even to the mirror's real address.
        out = tb.run(
            f"curl -sS -m 5 --resolve deb.debian.org:80:{mirror_address()} "
            "http://deb.debian.org/debian/",
            check=False,
        )
        assert out.returncode != 0, out.stdout
        assert re.search(r"unreachable|Failed to connect|timed out", out.stderr)
        assert "default" not in tb.run("ip route").stdout

        copied = time.monotonic()
        tb.copy_in(repo, MOUNT)
        report("copying dist/repo into the root", f"{time.monotonic() - copied:.1f} s")
        # Exactly the README's steps.
        tb.run(
            f"install -m 644 {MOUNT}/apt/ublog-archive-keyring.gpg "
            "/usr/share/keyrings/ublog-archive-keyring.gpg"
        )
        signed = line.replace(f"file:{MOUNT}/", "file:/srv/{name}/")

        # --- tampered copies are refused -----------------------------------
        tb.run(
            "for t in inrelease release unsigned deb; do mkdir -p /srv/$t/apt && "
            f"cp -a {MOUNT}/apt/dists /srv/$t/apt/; done"
        )
        tb.run("sed -i 's/^Label: ublog offline$/Label: ublog 0ffline/' "
               f"/srv/inrelease/apt/dists/{suite}/InRelease")  # fmt: skip
        _, res = apt_update_from(tb, "inrelease", signed.format(name="inrelease"))
        assert_refused(res, *BAD_SIGNATURE)
        assert not tb.run(
            "ls /tmp/inrelease/lists/ | grep Packages", check=False
        ).stdout

        tb.run(
            f"cd /srv/release/apt/dists/{suite} && rm InRelease && sed -i "
            "'s/^Label: ublog offline$/Label: ublog 0ffline/' Release"
        )
        _, res = apt_update_from(tb, "release", signed.format(name="release"))
        assert_refused(res, *BAD_SIGNATURE)

        tb.run(f"rm /srv/unsigned/apt/dists/{suite}/InRelease "
               f"/srv/unsigned/apt/dists/{suite}/Release.gpg")  # fmt: skip
        _, res = apt_update_from(tb, "unsigned", signed.format(name="unsigned"))
        assert_refused(res, "is not signed")

        pool = tb.run(
            f"cd {MOUNT}/apt && ls pool/main/u/ublog/*{release.version_suffix}_*.deb"
        ).stdout.strip()
        tb.run(
            f"mkdir -p /srv/deb/apt/$(dirname {pool})"
            f" && cp {MOUNT}/apt/{pool} /srv/deb/apt/{pool}"
            # one byte changed, same size: only the hash can tell
            f" && printf 'X' | dd of=/srv/deb/apt/{pool} bs=1 seek=4000 conv=notrunc"
        )
        opts, res = apt_update_from(tb, "deb", signed.format(name="deb"))
        assert res.returncode == 0, res.stdout + res.stderr  # the indexes are fine
        res = tb.run(f"mkdir -p /tmp/dl && cd /tmp/dl && apt-get download {opts} ublog",
                     check=False)  # fmt: skip
        assert_refused(res, "Hash Sum mismatch", "hash sum mismatch", "Hashes of exp")
        assert tb.run("ls /tmp/dl").stdout.strip() == ""

        # --- the real thing: signed, offline, with Recommends as by default -----
        tb.run(f"echo '{line}' > /etc/apt/sources.list.d/ublog.list")
        update = tb.run("apt-get update")
        assert "file:" in update.stdout and "http:" not in update.stdout
        policy = tb.run("apt-cache policy").stdout
        assert "deb.debian.org" not in policy and f"file:{MOUNT}/apt" in policy
        started = time.monotonic()
        out = tb.run(f"{APT} -y -o APT::Install-Recommends=true install ublog",
                     timeout=900)  # fmt: skip
        installed = time.monotonic() - started
        # (with debconf's frontend started, the maintainer scripts' output
        # may go to stderr)
        said = out.stdout + out.stderr
        assert "ublog-ctl setup: done" in said, said[-3000:]
        assert not re.search(r"^(Err|W):", out.stdout + out.stderr, re.M), (
            out.stdout[-3000:] + out.stderr
        )
        first = wait_for_200(tb)
        report(f"{suite}: offline apt-get install ublog", f"{installed:.1f} s")
        report(
            f"{suite}: offline install to the first HTTP 200",
            f"{time.monotonic() - started:.1f} s",
        )
        assert first.status == 200, first.text[:2000]
        assert first.headers["Server"].startswith("nginx")
        assert "μblog" in first.text
        for unit in ("ublog.socket", "nginx", "postgresql"):
            state = tb.run(["systemctl", "is-active", unit], check=False).stdout
            assert state.strip() == "active", f"{unit}: {state}"
        # Every package apt installed came from the repository.
        versions = tb.run(f"apt-cache policy {from_the_repo(release)}").stdout
        assert versions.count("*** ") == 5, versions
        assert "deb.debian.org" not in versions


# -- pip -------------------------------------------------------------------------


def run(argv, **kwargs):
    env = {**os.environ, "PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INPUT": "1"}
    env.pop("PIP_CACHE_DIR", None)
    return subprocess.run(argv, capture_output=True, text=True, env=env, **kwargs)


def offline(argv):
    """``argv`` in a new network namespace: only a loopback, and it is down."""
    if not shutil.which("unshare"):
        pytest.fail("unshare (util-linux) not found")
    return run(["unshare", "--net", "--", *argv])


def test_pip_installs_ublog_posts_offline_from_simple(repo, tmp_path):
    probe = offline(
        ["/usr/bin/python3", "-c",
         f"import socket; socket.create_connection(({mirror_address()!r}, 80), 5)"]
    )  # fmt: skip
    assert probe.returncode != 0 and "unreachable" in probe.stderr, probe.stderr

    venv = tmp_path / "venv"
    assert run(["/usr/bin/python3", "-m", "venv", str(venv)]).returncode == 0
    started = time.monotonic()
    out = offline(
        [str(venv / "bin" / "pip"), "install", "--no-cache-dir",
         "--index-url", f"file://{repo}/simple", "ublog-posts"]
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    report("offline pip install ublog-posts", f"{time.monotonic() - started:.1f} s")
    check = run(
        [str(venv / "bin" / "python"), "-c",
         "import django, PIL, ublog_posts; print(django.get_version())"]
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    wanted = next((repo / "python").glob("django-*.whl")).name.split("-")[1]
    assert check.stdout.strip() == wanted

    # A copy elsewhere works too (relative links), and pip checks the hashes.
    copy = tmp_path / "copy"
    shutil.copytree(repo / "simple", copy / "simple")
    shutil.copytree(repo / "python", copy / "python")
    wheel = next((copy / "python").glob("ublog_posts-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[100] ^= 0xFF
    wheel.write_bytes(bytes(data))
    venv2 = tmp_path / "venv2"
    assert run(["/usr/bin/python3", "-m", "venv", str(venv2)]).returncode == 0
    out = offline(
        [str(venv2 / "bin" / "pip"), "install", "--no-cache-dir",
         "--index-url", f"file://{copy}/simple", "ublog-posts"]
    )  # fmt: skip
    assert out.returncode != 0
    assert "DO NOT MATCH THE HASHES" in out.stderr, out.stdout + out.stderr
