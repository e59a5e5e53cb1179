"""The Debian packages a host running ublog needs to move to the next Debian
release, cached: what the release-upgrade test installs from, with no
network while it runs.

A host of the old release is the test base root of that release (the root
the install tests boot) with ublog's old-release .deb installed by apt, its
Depends and Recommends too, as an admin's ``apt install ublog`` does. In a
chroot of it, with every apt source switched to the new release (its main
suite, -updates and -security), apt says what ``apt full-upgrade`` would
install (``-s``), then what installing ublog's new-release .deb would add;
both are downloaded. The union is the closure: the .debs (kept with the
repository's in CACHE_DIR/repo/debs, shared) and a list of their names.

It depends on the base root, both .debs' relationship fields and the
mirrors, and is recomputed when one of them changes (or with ``refresh``).
The simulation's removals are logged: a ``Remv ublog`` would be the failure
the versioned interpreter (``Depends: python3.X``) is there to prevent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import base_root, chroot, deb, paths, releases, repo, run
from .errors import BuildError
from .releases import Release

log = run.logger("upgrade-closure")

#: Bump to invalidate every cached upgrade closure.
METHOD = 1
#: Keeps services from starting in the chroot (invoke-rc.d asks it).
POLICY_RC_D = "#!/bin/sh\nexit 101\n"


def cache() -> Path:
    return paths.cache_dir() / "upgrade"


def list_path(old: Release, new: Release, old_deb: Path, new_deb: Path) -> Path:
    """The cached list of the closure's .deb names (maybe not made yet)."""
    fields = ("Pre-Depends", "Depends", "Recommends")
    key = chroot.key(
        METHOD,
        old.codename,
        new.codename,
        base_root.build(old, prefetch=deb.relations(old_deb)).name,
        deb.fields(old_deb, *fields).rstrip("\n"),
        deb.fields(new_deb, *fields).rstrip("\n"),
        chroot.mirror(),
        chroot.security_mirror(),
    )
    return cache() / f"{old.codename}-to-{new.codename}-{key}.list"


def removals(simulation: str) -> list[str]:
    """The packages ``apt-get -s`` would remove ("Remv NAME [VERSION]")."""
    return sorted(
        line.split()[1] for line in simulation.splitlines() if line.startswith("Remv ")
    )


def _local_source(root: Path, deb_file: Path, name: str) -> str:
    """``deb_file`` in a flat repository of its own inside ``root``
    (/srv/NAME), as apt installs ublog from a repository; its sources line."""
    directory = root / "srv" / name
    directory.mkdir(parents=True)
    shutil.copy2(deb_file, directory)
    packages = run.output(["apt-ftparchive", "packages", "."], cwd=directory)
    (directory / "Packages").write_text(packages)
    return f"deb [trusted=yes] file:/srv/{name} ./\n"


def _install_old_host(root: Path, old_deb: Path) -> None:
    """ublog's old-release .deb installed by apt from a local repository,
    offline (the base root prefetched its dependencies), no service
    started."""
    policy = root / "usr" / "sbin" / "policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    local = root / "etc" / "apt" / "sources.list.d" / "ublog-old.list"
    local.write_text(_local_source(root, old_deb, "ublog-old"))
    only_local = [
        "-o", f"Dir::Etc::sourcelist=/etc/apt/sources.list.d/{local.name}",
        "-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0",
    ]  # fmt: skip
    with chroot.mounted_proc(root):
        chroot.in_root(root, ["apt-get", "update", "-qq", *only_local])
        chroot.in_root(
            root,
            ["apt-get", "install", "-y", "-qq"]
            + ["-o", "APT::Install-Recommends=true", "ublog"],
            log_file=paths.log_file("upgrade-closure-install"),
        )


def compute(old: Release, new: Release, old_deb: Path, new_deb: Path, listed: Path):
    """Make the closure (see the module's docstring) and its list."""
    tarball = base_root.build(old, prefetch=deb.relations(old_deb))
    debs = repo.cache() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    with chroot.workdir(cache()) as work:
        root = work / "root"
        chroot.unpack(tarball, root)
        _install_old_host(root, old_deb)
        # Every Debian source to the new release, ublog's source as it was.
        (root / "etc" / "apt" / "sources.list").write_text(chroot.sources_list(new))
        log.info(f"{old.codename} host with ublog -> {new.codename}: simulating")
        chroot.apt_update(root)
        recommends = ["-o", "APT::Install-Recommends=true"]
        upgrade = chroot.root_output(
            root, ["apt-get", "-s", *recommends, "full-upgrade"]
        )
        # Then ublog's source switched to the new release's package.
        (root / "etc" / "apt" / "sources.list.d" / "ublog-old.list").write_text(
            _local_source(root, new_deb, "ublog-new")
        )
        chroot.apt_update(root)
        actions = (["full-upgrade"], ["install", "ublog"])
        removed = removals(upgrade)
        log.info(f"the release upgrade would remove: {' '.join(removed) or 'nothing'}")
        simulated = upgrade + "".join(
            chroot.root_output(root, ["apt-get", "-s", *recommends, *action])
            for action in actions
        )
        wanted = sorted(repo.debs_of(simulated))
        archives = root / "var" / "cache" / "apt" / "archives"
        for action in actions:
            chroot.in_root(
                root,
                ["apt-get", "-y", "-qq", "--download-only", *recommends, *action],
            )
        for name in wanted:
            downloaded = archives / name
            if not downloaded.is_file():
                raise BuildError(f"apt did not download {name}")
            target = debs / name
            if not target.exists():
                try:
                    os.link(downloaded, target)
                except OSError:
                    shutil.copy2(downloaded, target)
    listed.parent.mkdir(parents=True, exist_ok=True)
    listed.write_text("".join(f"{name}\n" for name in wanted))
    log.info(f"{len(wanted)} .debs for {old.codename} -> {new.codename}")


def build(
    old: Release | str = releases.RELEASES[0],
    new: Release | str = releases.RELEASES[1],
    refresh: bool = False,
) -> list[Path]:
    """The .debs (in the shared cache) a host of ``old`` running ublog
    installs to upgrade to ``new`` and to ublog's ``new`` package; the
    .debs of both are the ones ``make`` built."""
    old, new = releases.lookup(old), releases.lookup(new)
    run.require_root("chroot")
    old_deb, new_deb = deb.release_deb(old), deb.release_deb(new)
    listed = list_path(old, new, old_deb, new_deb)
    names = listed.read_text().split() if listed.is_file() else []
    debs = repo.cache() / "debs"
    if refresh or not names or not all((debs / n).is_file() for n in names):
        compute(old, new, old_deb, new_deb, listed)
        names = listed.read_text().split()
    else:
        log.info(f"{listed.name}: unchanged, {len(names)} .debs")
    return [debs / name for name in names]
