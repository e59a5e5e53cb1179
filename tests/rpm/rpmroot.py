"""A throwaway Debian root that RPMs are installed into with ``dnf --installroot``.

The RPM tests cannot boot an EL system here, so they do what an EL image
build does: dnf installs into a directory from a local ``createrepo_c``
repository and rpm runs the scriptlets chrooted into it. The directory is a
base root (``ublog_build.base_root``) of the Debian release whose python3 is
the RPM's interpreter (:data:`ROOT_RELEASE`), where dpkg installed python3
(the interpreter the venv links to), PostgreSQL and nginx, so the
scriptlets' ``ublog-ctl setup`` really creates the user, the configuration,
the database and the static files. A provides-only RPM
(``dpkg-provides.spec``) tells dnf that what the ublog RPM requires is
there; dpkg, not rpm, owns it.

Layers, as overlay mounts:

* the base-root tarball, unpacked once next to it (shared, read-only);
* the Debian packages installed on it, made once and cached under
  ``$CACHE_DIR/rpm/`` (read-only too);
* each :class:`RpmRoot`'s own upper directory, which collects every write.

Nothing is mounted in the host's mount namespace: every command runs through
:meth:`RpmRoot.session`, in a new mount and PID namespace
(``unshare --mount --pid --fork --kill-child``) where the overlay, ``/proc``,
``/dev`` and ``/dev/shm`` are mounted; when the command ends the namespace
goes, with its mounts and every process left in it (a PostgreSQL server,
say). Needs root.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from ublog_build.paths import cache_dir
from ublog_build.releases import RELEASES, RPM_PYTHON

#: The Debian release of the test root: its python3 is the RPM's interpreter.
ROOT_RELEASE = next(r for r in RELEASES if r.python == RPM_PYTHON)
#: The interpreter the RPM's venv links to.
PYTHON = f"/usr/bin/python{RPM_PYTHON}"
#: The shared libraries the RPM's compiled modules link to: rpm's ELF
#: dependency generator requires their sonames (``libpq.so.5()(64bit)``,
#: with symbol versions too), and the Debian package that has each.
SONAMES = {
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libjpeg.so.62": "libjpeg62-turbo",
    "libpq.so.5": "libpq5",
    "libwebp.so.7": "libwebp7",
    "libwebpdemux.so.2": "libwebpdemux2",
    "libwebpmux.so.3": "libwebpmux3",
    "libz.so.1": "zlib1g",
}
#: Installed with apt (by dpkg) into the base root before any RPM.
DPKG_PACKAGES = " ".join(
    ["nginx", "postgresql", "python3", *sorted(set(SONAMES.values()))]
)
#: The rpmdb of the installroot where EL has it (Debian's rpm says ~/.rpmdb).
RPM_MACROS = "%_dbpath /var/lib/rpm\n"
TOOLS = [
    "rpm", "rpmbuild", "rpmlint", "rpm2archive", "createrepo_c", "dnf",
    "unshare", "mount", "chroot",
]  # fmt: skip
CHROOT_ENV = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"]

# Runs as PID 1 of the new namespaces: mount the root, then run "$@".
MOUNT_SCRIPT = r"""
set -e
root=$1 lower=$2 upper=$3 work=$4
shift 4
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
"$@"
"""


# What the ublog RPM requires, and how the Debian test root has it (dpkg owns
# it there): a file that must exist, or a Debian package that must be
# installed. The provides-only RPM offers exactly these names to dnf, and
# test_rpm_install checks each is really there, so a Requires added to the
# spec without an entry here fails the tests instead of being waved through.
DEBIAN_EQUIVALENTS = {
    "/bin/sh": ("file", "/bin/sh"),
    PYTHON: ("file", PYTHON),
    "nginx": ("deb", "nginx"),
    "postgresql-server": ("deb", "postgresql"),
    "postgresql": ("file", "/usr/bin/pg_dump"),
    "util-linux": ("deb", "util-linux"),
    "shadow-utils": ("deb", "passwd"),
    "systemd": ("deb", "systemd"),
    # [tls] mode = self-signed on EL (postgresql's ssl-cert brings it here).
    "openssl": ("deb", "openssl"),
    # The dynamic loader's hash style, required with any ELF dependency.
    "rtld(GNU_HASH)": ("file", "/lib64/ld-linux-x86-64.so.2"),
}


def debian_equivalent(requirement: str) -> tuple[str, str] | None:
    """How the Debian test root has what the RPM requires: a file, a Debian
    package or (a library's soname, any symbol version) the package of
    :data:`SONAMES` that ships it; None for what it lacks."""
    if requirement in DEBIAN_EQUIVALENTS:
        return DEBIAN_EQUIVALENTS[requirement]
    match = re.fullmatch(r"(lib[^()]+\.so\.[0-9.]+)\([^()]*\)\(64bit\)", requirement)
    if match and match[1] in SONAMES:
        return ("soname", match[1])
    return None


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    """Run a host command; a failure fails the test with its output."""
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode:
        pytest.fail(
            f"{' '.join(map(str, argv))} failed (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def rpm_query(rpm: Path, fmt: str) -> str:
    return run(["rpm", "-qp", "--qf", fmt, str(rpm)]).stdout


def rpm_requires(rpm: Path) -> set[str]:
    """Requires without rpmlib() (rpm itself) and version constraints."""
    lines = run(["rpm", "-qp", "--requires", str(rpm)]).stdout.splitlines()
    return {line.split()[0] for line in lines if not line.startswith("rpmlib(")}


def external_requires(rpm: Path) -> set[str]:
    """What the RPM requires from other packages: Requires without what it
    provides itself (``config(ublog)``)."""
    lines = run(["rpm", "-qp", "--provides", str(rpm)]).stdout.splitlines()
    return rpm_requires(rpm) - {line.split()[0] for line in lines if line}


class RpmRootError(RuntimeError):
    """A command in the RPM test root failed (its output is in the message)."""


def which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")


def missing_prerequisites() -> list[str]:
    """What this host lacks to run the RPM tests (empty when nothing)."""
    problems = [f"{tool} not found" for tool in TOOLS if not which(tool)]
    if os.geteuid() != 0:
        problems.append("must run as root (mounts, chroot)")
    if "\toverlay\n" not in Path("/proc/filesystems").read_text():
        problems.append("the kernel has no overlay file system")
    return problems


def _check(result: subprocess.CompletedProcess, what: str):
    if result.returncode:
        raise RpmRootError(
            f"{what} failed (exit {result.returncode})\n--- stdout ---\n"
            f"{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def _namespaced(
    root: Path, lowers: list[Path], upper: Path, work: Path, argv: list[str], **kw
) -> subprocess.CompletedProcess:
    cmd = [
        which("unshare"), "--mount", "--propagation", "private",
        "--pid", "--fork", "--kill-child",
        "/bin/sh", "-c", MOUNT_SCRIPT, "sh",
        str(root), ":".join(map(str, lowers)), str(upper), str(work), *argv,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def debian_layer(base: Path) -> Path:
    """The overlay layer with DPKG_PACKAGES installed on ``base`` (cached).

    ``base`` is an unpacked base root whose apt archives hold those packages
    (prefetched): apt installs them with no network. A
    policy-rc.d keeps their services from starting in the chroot.
    """
    key = hashlib.sha256(
        f"{base.name}\n{DPKG_PACKAGES}\n{MOUNT_SCRIPT}".encode()
    ).hexdigest()[:12]
    target = cache_dir() / "rpm" / f"debian-layer-{key}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".debian-layer.", dir=target.parent))
    try:
        for name in ("root", "upper", "work"):
            (tmp / name).mkdir()
        script = (
            "printf '#!/bin/sh\\nexit 101\\n' >usr/sbin/policy-rc.d && "
            "chmod 755 usr/sbin/policy-rc.d && "
            f"chroot . {' '.join(CHROOT_ENV)} DEBIAN_FRONTEND=noninteractive "
            f"apt-get install -y -q --no-download {DPKG_PACKAGES} && "
            "rm usr/sbin/policy-rc.d"
        )
        result = _namespaced(
            tmp / "root",
            [base],
            tmp / "upper",
            tmp / "work",
            ["/bin/sh", "-c", f"cd {tmp / 'root'} && {script}"],
            timeout=900,
        )
        _check(result, f"apt-get install {DPKG_PACKAGES} in the RPM test root")
        (tmp / "upper").rename(target)
    except FileExistsError:  # another run made it first
        pass
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(tmp)], check=False)
    return target


class RpmRoot:
    """A Debian root (base + Debian layer + own upper) for dnf --installroot."""

    def __init__(self, base: Path, layer: Path):
        self.lowers = [layer, base]
        self.dir = Path(tempfile.mkdtemp(prefix="ublog-rpmroot."))
        self.root = self.dir / "root"
        self.upper = self.dir / "upper"
        self.work = self.dir / "work"
        self.home = self.dir / "home"
        for path in (self.root, self.upper, self.work, self.home):
            path.mkdir()
        (self.home / ".rpmmacros").write_text(RPM_MACROS)

    def __enter__(self) -> RpmRoot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Remove the directory (nothing is mounted outside a session)."""
        if self.dir.exists():
            subprocess.run(
                ["rm", "-rf", "--one-file-system", str(self.dir)], check=True
            )

    def session(
        self, argv: list[str], check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        """Run ``argv`` on the host with the root mounted at ``self.root``."""
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.home),  # .rpmmacros: the rpmdb path
            "LANG": "C.UTF-8",
        }
        result = _namespaced(
            self.root, self.lowers, self.upper, self.work, argv,
            timeout=timeout, env=env,
        )  # fmt: skip
        return _check(result, " ".join(argv)) if check else result

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a shell script chrooted into the root."""
        argv = ["chroot", str(self.root), *CHROOT_ENV, "/bin/sh", "-ec", script]
        return self.session(argv, check=check)

    def dnf(self, *args: str, repo: Path, check: bool = True):
        """dnf on the root, from the local repository ``repo`` only."""
        argv = [
            "dnf", f"--installroot={self.root}", "--releasever=9",
            "--setopt=reposdir=/nonexistent", "--noplugins",
            f"--repofrompath=ublog-test,file://{repo}", "--repo=ublog-test",
            "--refresh", "--nogpgcheck", "--setopt=install_weak_deps=False",
            "--setopt=clean_requirements_on_remove=False", "-y", *args,
        ]  # fmt: skip
        return self.session(argv, check=check)

    def rpm(self, *args: str, check: bool = True):
        """rpm on the root's rpmdb."""
        argv = ["rpm", f"--root={self.root}", "--dbpath=/var/lib/rpm", *args]
        return self.session(argv, check=check)
