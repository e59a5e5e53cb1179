"""The ublog .deb: one per Debian release, built with pbuilder in a clean
chroot of that release; and the quick build on the host.

A release's source package ``ublog-<version>/`` holds debian/ and
packaging/shared/ (their source files: tracked, or untracked and not
ignored), our wheels (dist/python), that release's Python's wheelhouse and
the generated debian/requirements.txt (and debian/build-requirements.txt,
what compiling the sdists needs); its changelog gets the release's
entry on top (``<upstream>+debNNu1 <codename>``, the way Debian numbers its
stable updates, so the releases' .debs sort across a distribution upgrade
and share one repository). Nothing else in debian/ is edited: debian/rules
computes every per-release value from the chroot's python3.

pbuilder's chroot (``--variant=buildd`` plus the Build-Depends, from the
release's mirror only) is cached as a base.tgz under CACHE_DIR/pbuilder,
keyed by its recipe and the Build-Depends, with pbuilder's apt cache. A
build then downloads nothing and runs without network (pbuilder's
USENETWORK=no: a network namespace of its own), at the fixed path
/build/ublog-<version>, with SOURCE_DATE_EPOCH: two builds are
byte-identical.
"""

import os
import shutil
import time
from pathlib import Path

from . import changelog, chroot, control, paths, releases, run, wheels
from .errors import BuildError, MissingInput
from .releases import Release

log = run.logger("deb")

#: How pbuilder's base is made (:func:`pbuilder_base`): bump when that changes.
CHROOT_RECIPE = 1
#: What a source package holds of the work tree, besides the wheels.
SOURCE_DIRS = ("debian", "packaging/shared")


def upstream_version(root: Path = paths.ROOT) -> str:
    return changelog.top_version(root / "debian" / "changelog")


def source_tree(release: Release, parent: Path, root: Path = paths.ROOT) -> Path:
    """The unpacked source package of ``release``, made in ``parent``."""
    release = releases.lookup(release)
    epoch = paths.source_date_epoch(root)
    src = parent / f"ublog-{release.deb_version(upstream_version(root))}"
    for directory in SOURCE_DIRS:
        for name in paths.source_files(root / directory, root):
            target = src / directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / directory / name, target, follow_symlinks=False)
    (src / "dist" / "python").mkdir(parents=True)
    for wheel in wheels.ours(root / "dist" / "python"):
        shutil.copy2(wheel, src / "dist" / "python")
    wheels.wheelhouse(release.python, src / "dist" / "wheelhouse", root)
    (src / "debian" / "requirements.txt").write_text(wheels.requirements(root))
    shutil.copy2(wheels.BUILD_REQUIREMENTS, src / "debian" / "build-requirements.txt")
    changelog.prepend_release(src / "debian" / "changelog", release, epoch)
    for top, dirs, files in os.walk(src):
        for name in dirs + files:
            os.utime(Path(top, name), (epoch, epoch), follow_symlinks=False)
    os.utime(src, (epoch, epoch))
    return src


def source_package(release: Release, parent: Path, root: Path = paths.ROOT) -> Path:
    """The source package of ``release`` (``dpkg-source -b``): its .dsc."""
    parent.mkdir(parents=True, exist_ok=True)
    src = source_tree(release, parent, root)
    run.output(["dpkg-source", "-Zgzip", "-z1", "-b", src.name], cwd=parent)
    return parent / f"{src.name.replace('-', '_', 1)}.dsc"


def pbuilder_base(release: Release) -> Path:
    """pbuilder's cached base.tgz of ``release``, Build-Depends installed."""
    release = releases.lookup(release)
    cache = paths.cache_dir() / "pbuilder"
    build_deps = " ".join(control.build_depends(paths.ROOT / "debian" / "control"))
    recipe = chroot.key(CHROOT_RECIPE, release.codename, chroot.mirror(), build_deps)
    aptcache = cache / f"aptcache-{release.codename}"

    def make(work: Path, output: Path) -> None:
        log.info(f"pbuilder create {release.codename} (once, from {chroot.mirror()})")
        aptcache.mkdir(parents=True, exist_ok=True)
        (work / "place").mkdir()
        run.run(
            ["pbuilder", "create", "--basetgz", output]
            + ["--distribution", release.codename, "--mirror", chroot.mirror()]
            + ["--othermirror", "", "--extrapackages", build_deps]
            + ["--aptcache", aptcache, "--buildplace", work / "place"]
            + ["--debootstrapopts", "--variant=buildd"],
            log=paths.log_file(f"pbuilder-create-{release.codename}"),
            what=f"pbuilder create {release.codename}",
        )

    return chroot.cached(cache / f"{release.codename}-{recipe}.tgz", make)


def build_release(release: Release, out: Path = paths.DIST / "deb") -> Path:
    """Build the .deb of ``release`` with pbuilder into ``out``: its path."""
    release = releases.lookup(release)
    run.require_root("pbuilder")
    run.require_tools("pbuilder", "debootstrap", "dpkg-source")
    wheels.ours()
    upstream = upstream_version()
    version = release.deb_version(upstream)
    base = pbuilder_base(release)
    started = time.monotonic()
    cache = paths.cache_dir() / "pbuilder"
    with chroot.workdir(cache) as work:
        dsc = source_package(release, work / release.codename)
        log.info(f"building ublog {version} in a clean {release.codename} chroot")
        result = work / "result"
        for directory in (result, work / "place"):
            directory.mkdir()
        run.run(
            ["pbuilder", "build", "--basetgz", base, "--buildresult", result]
            + ["--use-network", "no"]
            + ["--aptcache", cache / f"aptcache-{release.codename}"]
            + ["--buildplace", work / "place", "--debbuildopts", "-b", dsc],
            env=run.environ(
                SOURCE_DATE_EPOCH=str(paths.source_date_epoch()),
                DEB_BUILD_OPTIONS="nocheck",
            ),
            log=paths.log_file(f"pbuilder-build-{release.codename}"),
            what=f"building for {release.codename}",
        )
        deb = result / f"ublog_{version}_amd64.deb"
        if not deb.is_file():
            raise BuildError(f"pbuilder made no {deb.name}")
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob(f"ublog_{upstream}+deb{release.number}u*_amd64.*"):
            old.unlink()
        shutil.copy2(deb, out)
        buildinfo = deb.with_suffix(".buildinfo")
        if buildinfo.is_file():
            shutil.copy2(buildinfo, out)
    built = out / deb.name
    elapsed = time.monotonic() - started
    log.info(f"{release.codename}: {built}, {run.size(built)}, {elapsed:.0f} s")
    return built


def build(selected=releases.RELEASES, out: Path = paths.DIST / "deb") -> list[Path]:
    """The .deb of each release in ``selected``; building them all into
    ``out`` first removes every older ublog .deb there."""
    selected = [releases.lookup(r) for r in selected]
    if set(selected) == set(releases.RELEASES) and out.is_dir():
        for old in out.glob("ublog_*_amd64.*"):
            old.unlink()
    return [build_release(release, out) for release in selected]


def host_build(tree: Path = paths.ROOT, out: Path | None = None) -> Path:
    """The quick build on the host: ``debian/rules binary`` in ``tree``
    with the host's python3 (dh-virtualenv), offline, from the wheels in
    dist/python and dist/wheelhouse. The upgrade test's next version and
    ``make bench`` use it; ``make`` builds the releases' .debs with
    :func:`build`. Returns the .deb (``out``: default dist/deb)."""
    started = time.monotonic()
    wheels.ours(tree / "dist" / "python")
    wheels.check_wheelhouse(tree / "dist" / "wheelhouse", releases.host().python)
    (tree / "debian" / "requirements.txt").write_text(
        wheels.requirements(tree, tree / "dist" / "python")
    )
    shutil.copy2(wheels.BUILD_REQUIREMENTS, tree / "debian" / "build-requirements.txt")
    run.run(["dpkg-checkbuilddeps"], cwd=tree)
    out = out or tree / "dist" / "deb"
    out.mkdir(parents=True, exist_ok=True)
    version = changelog.top_version(tree / "debian" / "changelog")
    deb = out / f"ublog_{version}_amd64.deb"
    deb.unlink(missing_ok=True)
    env = run.environ(
        SOURCE_DATE_EPOCH=str(paths.source_date_epoch(tree)),
        DEB_BUILD_OPTIONS=os.environ.get("DEB_BUILD_OPTIONS", "nocheck"),
        UBLOG_DEB_DESTDIR=str(out),
    )
    clean = paths.log_file("host-deb-clean")
    run.run(["debian/rules", "clean"], cwd=tree, env=env, log=clean)
    run.run(["debian/rules", "binary"], cwd=tree, env=env, what="debian/rules binary")
    run.run(["debian/rules", "clean"], cwd=tree, env=env, log=clean)
    if not deb.is_file():
        raise BuildError(f"debian/rules binary made no {deb}")
    log.info(f"built {deb} in {time.monotonic() - started:.0f} s, {run.size(deb)}")
    return deb


def release_deb(release: Release, directory: Path = paths.DIST / "deb") -> Path:
    """The one .deb of ``release`` in ``directory`` (what ``make`` built)."""
    release = releases.lookup(release)
    found = sorted(directory.glob(f"ublog_*+deb{release.number}u*_amd64.deb"))
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise MissingInput(
            f"expected one {release.label} .deb in {directory}: {names}", "make"
        )
    return found[0]


def fields(deb: Path, *names: str) -> str:
    """``dpkg-deb -f DEB NAMES``: the fields as dpkg-deb prints them."""
    return run.output(["dpkg-deb", "-f", deb, *names])


def relations(deb: Path) -> list[str]:
    """The packages of the .deb's Depends and Recommends (first alternative,
    no versions): what a default ``apt install`` of it installs first."""
    text = fields(deb, "Depends", "Recommends")
    values = []
    for line in text.splitlines():
        if line[:1].isspace():
            values[-1] += " " + line.strip()
        else:
            values.append(line.split(":", 1)[1])
    return control.names(",".join(values))
