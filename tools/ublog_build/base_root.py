"""The test base roots: a minimal Debian root of a release that boots under
systemd-nspawn, cached as a tarball, optionally with packages prefetched.

The root is debootstrap's minbase plus systemd (as init), dbus, apt tools
and curl; units that fail or hang in a container are masked, apt keeps the
.debs it downloads, and the apt lists are filled (apt-get update ran in a
chroot) so that apt works offline inside the booted container. With
``prefetch``, those packages' .debs (and their Recommends, as a default
``apt install`` wants them) wait in /var/cache/apt/archives, so that
``apt-get install --no-download`` works with no network at all.

Cached as CACHE_DIR/base/<codename>-<key>[-pf-<key>].tar.zst (.tar.gz
without zstd): the key covers this module, :func:`chroot.debootstrap` and
the release's sources, so editing either rebuilds; a cached tarball is
reused at once.
"""

import hashlib
import inspect
from collections.abc import Iterable
from pathlib import Path

from . import chroot, paths, releases, run
from .releases import Release

log = run.logger("base-root")

INCLUDE = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "ca-certificates",
    "curl",
    "iproute2",
    "apt-utils",
    "gnupg",
    "procps",
)
#: Units that only fail, hang or waste time in a throwaway container.
MASK = (
    "systemd-networkd-wait-online.service",
    "console-getty.service",
    "getty@.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "systemd-timesyncd.service",
)
APT_CONF = """\
// Keep downloaded (and prefetched) .debs: installs run without network.
APT::Keep-Downloaded-Packages "true";
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT::Install-Recommends "false";
Acquire::Retries "3";
"""
HOSTNAME = "ublog-test"


def _recipe_key(release: Release) -> str:
    """This module, how debootstrap runs, and the release's sources."""
    recipe = (
        Path(__file__).read_text()
        + inspect.getsource(chroot.debootstrap)
        + chroot.sources_list(release)
    )
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def _prepare(release: Release, root: Path) -> None:
    chroot.debootstrap(release, root, include=INCLUDE)
    (root / "etc" / "hostname").write_text(f"{HOSTNAME}\n")
    hosts = root / "etc" / "hosts"
    if HOSTNAME not in hosts.read_text():
        hosts.write_text(hosts.read_text() + f"127.0.1.1 {HOSTNAME}\n")
    # systemd creates a machine-id on first boot; each testbed boots once.
    (root / "etc" / "machine-id").write_text("")
    for unit in MASK:
        link = root / "etc" / "systemd" / "system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    (root / "etc" / "apt" / "apt.conf.d" / "90ublog-test").write_text(APT_CONF)
    chroot.apt_update(root)
    chroot.in_root(root, ["apt-get", "clean"])


def build(release: Release, prefetch: Iterable[str] = ()) -> Path:
    """The cached base root tarball of ``release`` (made first if missing;
    needs root): with ``prefetch``'s packages downloaded into it."""
    release = releases.lookup(release)
    if isinstance(prefetch, str):
        prefetch = prefetch.replace(",", " ").split()
    names = sorted(set(prefetch))
    cache = paths.cache_dir() / "base"
    ext = chroot.tar_ext()
    stem = f"{release.codename}-{_recipe_key(release)}"
    base = cache / f"{stem}.{ext}"
    if names:
        path = cache / f"{stem}-pf-{chroot.key(*names)}.{ext}"
        if path.exists():
            return path
    run.require_root("chroot, debootstrap")
    chroot.cached_root(base, lambda root: _prepare(release, root))
    if not names:
        return base

    def prefetched(root: Path) -> None:
        log.info(f"unpacking {base}")
        chroot.unpack(base, root)
        log.info(f"prefetching: {' '.join(names)}")
        chroot.apt_update(root)
        chroot.in_root(
            root,
            ["apt-get", "install", "-y", "-qq", "--download-only"]
            + ["-o", "APT::Install-Recommends=true", *names],
        )

    return chroot.cached_root(path, prefetched)
