"""Debian roots: debootstrap once, cache the result, never rm through a mount.

One implementation for every root the pipeline needs:

* :func:`cached` makes a file (a root's tarball, pbuilder's base.tgz) once,
  in a work directory next to it, and renames it into place atomically; its
  name carries a key (:func:`key`) of the recipe, so a new recipe makes a
  new file and an old one is reused at once;
* :func:`cached_root` does that for a root made by a function and packed as
  a tarball (:func:`pack`, :func:`unpack`);
* :func:`debootstrap` makes a root of a release from Debian's mirror, its
  apt sources being the release, its -updates and -security suites;
* :func:`minbase` is the plain ``--variant=minbase`` root of a release,
  shared by the repository's closure and the per-app .debs' build root;
* :func:`workdir` is a temporary directory that, on exit, unmounts anything
  still mounted below it (debootstrap mounts /proc and /sys in its target)
  before removing it, and never crosses into another file system.

The test base roots (base_root.py), pbuilder's bases (deb.py), the
repository's closure root (repo.py) and the per-app build root (app_debs.py)
are all made through here.
"""

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from . import paths, releases, run
from .releases import Release

log = run.logger("chroot")

#: The environment of a command run in a root: nothing of the host's.
ROOT_ENV = (
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C.UTF-8",
    "HOME=/root",
    "DEBIAN_FRONTEND=noninteractive",
)


def key(*parts: object) -> str:
    """12 hex digits naming a recipe (what ``echo PARTS | sha256sum`` gave)."""
    text = " ".join(str(p) for p in parts) + "\n"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def tar_ext() -> str:
    """Tarballs are zstd-compressed, or gzip without zstd."""
    return "tar.zst" if shutil.which("zstd") else "tar.gz"


def mirror() -> str:
    return os.environ.get("MIRROR") or releases.MIRROR


def security_mirror() -> str:
    return os.environ.get("SECURITY_MIRROR") or releases.SECURITY_MIRROR


def sources_list(release: Release) -> str:
    """The release, its point-release updates and its security archive."""
    return (
        f"deb {mirror()} {release.codename} main\n"
        f"deb {mirror()} {release.codename}-updates main\n"
        f"deb {security_mirror()} {release.codename}-security main\n"
    )


# -- mounts and removal ---------------------------------------------------------


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below ``path``, deepest first."""
    path = Path(os.path.realpath(path))
    found = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = Path(line.split()[4].replace("\\040", " "))
            if point == path or path in point.parents:
                found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def unmount_under(path: Path) -> None:
    for point in mounts_under(path):
        if subprocess.run(["umount", point], capture_output=True).returncode:
            subprocess.run(["umount", "-l", point], capture_output=True)


def remove(path: Path) -> None:
    """Unmount what is below ``path``, then remove it on its file system only."""
    if os.path.lexists(path):
        unmount_under(path)
        subprocess.run(["rm", "-rf", "--one-file-system", path], check=True)


@contextlib.contextmanager
def workdir(parent: Path, prefix: str = ".work.") -> Iterator[Path]:
    """A temporary directory in ``parent``, unmounted and removed on exit."""
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        remove(path)


@contextlib.contextmanager
def mounted_proc(root: Path) -> Iterator[None]:
    """/proc mounted in ``root`` (the app builds' tests need it)."""
    run.run(["mount", "-t", "proc", "proc", root / "proc"])
    try:
        yield
    finally:
        unmount_under(root / "proc")


# -- tarballs -------------------------------------------------------------------


def pack(root: Path, tarball: Path) -> None:
    """Pack ``root`` (owners by number, xattrs, ACLs) into ``tarball``."""
    compress = "zstd -T0 -6" if tarball.name.endswith(".zst") else "gzip -6"
    run.run(
        ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls"]
        + ["-C", root, "-I", compress, "-cf", tarball, "."],
        what="tar",
    )


def unpack(tarball: Path, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    run.run(
        ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls"]
        + ["-C", root, "-xf", tarball],
        what="tar",
    )


def cached(path: Path, make: Callable[[Path, Path], None]) -> Path:
    """``path``, made first if missing by ``make(workdir, output)``, which
    writes ``output``; renamed into place only once complete."""
    if path.exists():
        return path
    with workdir(path.parent, prefix=".build.") as work:
        output = work / f"out.{path.name}"
        make(work, output)
        os.replace(output, path)
    log.info(f"wrote {path} ({run.size(path)})")
    return path


def cached_root(path: Path, prepare: Callable[[Path], None]) -> Path:
    """The tarball ``path`` of a root that ``prepare(root)`` fills."""

    def make(work: Path, output: Path) -> None:
        root = work / "root"
        root.mkdir()
        prepare(root)
        unmount_under(root)
        rm_apt_caches(root)
        pack(root, output)

    return cached(path, make)


# -- debootstrap and commands in a root -----------------------------------------


def debootstrap(
    release: Release,
    root: Path,
    *,
    variant: str = "minbase",
    include: Sequence[str] = (),
    log_file: Path | None = None,
) -> None:
    """A fresh root of ``release`` (about a minute, network-bound)."""
    run.require_root("debootstrap")
    run.require_tools("debootstrap")
    log.info(f"debootstrap --variant={variant} {release.codename} (once)")
    argv = ["debootstrap", f"--variant={variant}"]
    if include:
        argv.append("--include=" + ",".join(include))
    run.run(
        argv + [release.codename, root, mirror()],
        log=log_file,
        what=f"debootstrap {release.codename}",
    )
    unmount_under(root)
    (root / "etc" / "apt" / "sources.list").write_text(sources_list(release))
    shutil.copy("/etc/hosts", root / "etc" / "hosts")


def minbase(release: Release) -> Path:
    """The cached plain minbase root of ``release``: apt lists empty,
    resolv.conf empty, sources as :func:`sources_list` says."""
    release = releases.lookup(release)
    name = f"{release.codename}-{key(release.codename, sources_list(release))}"
    path = paths.cache_dir() / "minbase" / f"{name}.{tar_ext()}"

    def prepare(root: Path) -> None:
        debootstrap(
            release, root, log_file=paths.log_file(f"debootstrap-{release.codename}")
        )
        rm_apt_lists(root)

    return cached_root(path, prepare)


def in_root(
    root: Path,
    argv: Sequence[str],
    *,
    env: Sequence[str] = (),
    log_file: Path | None = None,
) -> None:
    """Run ``argv`` chrooted into ``root``, with nothing of the host's
    environment but ``env``; its output goes to stderr or ``log_file``."""
    run.run(
        ["chroot", root, "env", "-i", *ROOT_ENV, *env, *argv],
        log=log_file,
        what=" ".join(argv[:2]),
    )


def apt_update(root: Path) -> None:
    """apt-get update in ``root``, with the host's resolver for a while."""
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    in_root(root, ["apt-get", "update", "-qq"])


def rm_apt_caches(root: Path) -> None:
    """What apt rebuilds on demand, and the host's resolver."""
    for cache in (root / "var" / "cache" / "apt").glob("*.bin"):
        cache.unlink()
    resolv = root / "etc" / "resolv.conf"
    if resolv.is_file() and not resolv.is_symlink():
        resolv.write_text("")


def rm_apt_lists(root: Path) -> None:
    """No downloaded .debs and no package lists (they go stale)."""
    for deb in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        deb.unlink()
    for entry in (root / "var" / "lib" / "apt" / "lists").iterdir():
        if entry.is_file():
            entry.unlink()


def root_output(root: Path, argv: Sequence[str]) -> str:
    """The stdout of ``argv`` run chrooted into ``root``."""
    return run.output(
        ["chroot", root, "env", "-i", *ROOT_ENV, *argv], what=" ".join(argv[:2])
    )
