"""python3-ublog-posts and python3-ublog-accounts: the apps packaged the
Debian way (dpkg-buildpackage, dh with pybuild and its pyproject plugin)
from the upstream sdists in dist/python, with the debian/ directories of
packaging/debian-apps/. Output: dist/debian-apps/.

They build on the first release of the table whose python3-django
satisfies their Depends: there Debian's own python3-hatchling builds the
wheel, and upstream's tests run against Debian's python3-django during the
build. The build root (the release's minbase plus the apps' Build-Depends)
is cached as a tarball under CACHE_DIR/debian-apps, the .debs it downloaded
under CACHE_DIR/debian-apps/debs.
"""

import os
import re
import shutil
from pathlib import Path

from . import chroot, control, paths, releases, run
from .errors import BuildError, MissingInput
from .releases import Release

log = run.logger("debian-apps")

HERE = paths.ROOT / "packaging" / "debian-apps"
APPS = ("ublog-posts", "ublog-accounts")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def release() -> Release:
    """The oldest release whose python3-django the apps' Depends accept."""
    needed = max(
        _version(m[1])
        for app in APPS
        for m in re.finditer(
            r"python3-django \(>= (?:\d+:)?([\d.]+)",
            (HERE / app / "debian" / "control").read_text(),
        )
    )
    for candidate in releases.RELEASES:
        if candidate.django and _version(candidate.django) >= needed:
            return candidate
    raise BuildError(
        f"no release of the table has python3-django >= {'.'.join(map(str, needed))}",
        "tools/ublog_build/releases.py",
    )


def minbase() -> Path:
    """The cached plain minbase tarball of the apps' release (the tests
    install the built apps into it)."""
    return chroot.minbase(release())


def build_depends() -> list[str]:
    deps = {"build-essential"}
    for app in APPS:
        deps.update(control.build_depends(HERE / app / "debian" / "control"))
    return sorted(deps)


def cache() -> Path:
    return paths.cache_dir() / "debian-apps"


def build_root() -> Path:
    """The cached build root: the minbase plus the Build-Depends."""
    target = release()
    base = minbase()
    deps = build_depends()
    debs = cache() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    name = f"{target.codename}-build-{chroot.key(base, *deps)}.{chroot.tar_ext()}"

    def prepare(root: Path) -> None:
        log.info(f"{target.codename} build root: minbase + {len(deps)} packages")
        chroot.unpack(base, root)
        archives = root / "var" / "cache" / "apt" / "archives"
        for cached_deb in debs.glob("*.deb"):
            os.link(cached_deb, archives / cached_deb.name)
        chroot.apt_update(root)
        chroot.in_root(
            root,
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *deps],
            log_file=paths.log_file(f"debian-apps-{target.codename}-root"),
        )
        for downloaded in archives.glob("*.deb"):
            if not (debs / downloaded.name).exists():
                os.link(downloaded, debs / downloaded.name)
        chroot.in_root(root, ["apt-get", "clean"])
        chroot.rm_apt_lists(root)

    return chroot.cached_root(cache() / name, prepare)


def sdist(app: str, directory: Path) -> Path:
    found = sorted(directory.glob(f"{app.replace('-', '_')}-*.tar.gz"))
    if len(found) != 1:
        raise MissingInput(f"no sdist of {app} in {directory}", "make python")
    return found[0]


def build(out: Path | None = None, python_dist: Path | None = None) -> list[Path]:
    """Build both apps into ``out`` (dist/debian-apps, made anew)."""
    out = out or paths.DIST / "debian-apps"
    python_dist = python_dist or paths.DIST / "python"
    run.require_root("chroot")
    run.require_tools("debootstrap", "tar", "zstd", "chroot", "mount", "umount")
    sdists = {app: sdist(app, python_dist) for app in APPS}
    target = release()
    tarball = build_root()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    epoch = str(paths.source_date_epoch())
    with chroot.workdir(cache(), prefix=".build.") as work:
        root = work / "root"
        chroot.unpack(tarball, root)
        with chroot.mounted_proc(root):
            for app, source in sdists.items():
                version = source.name.removesuffix(".tar.gz").split("-", 1)[1]
                src = root / "build" / f"{app}-{version}"
                src.mkdir(parents=True)
                run.run(["tar", "-C", src, "--strip-components=1", "-xf", source])
                shutil.copy2(source, src.parent / f"{app}_{version}.orig.tar.gz")
                shutil.copytree(HERE / app / "debian", src / "debian")
                log.info(f"dpkg-buildpackage {app} {version} ({target.codename})")
                app_log = paths.log_file(f"debian-apps-{app}")
                chroot.in_root(
                    root,
                    [
                        "sh",
                        "-c",
                        f"cd /build/{src.name} && dpkg-buildpackage -us -uc -b",
                    ],
                    env=[f"SOURCE_DATE_EPOCH={epoch}"],
                    log_file=app_log,
                )
                tests = re.findall(r".*\b(?:passed|failed)\b.*", app_log.read_text())
                if tests:
                    log.info(f"{app} tests: {tests[-1].strip()}")
                built = src.parent
                for result in (
                    sorted(built.glob(f"python3-{app}_*_all.deb"))
                    + sorted(built.glob(f"{app}_*.buildinfo"))
                    + sorted(built.glob(f"{app}_*.changes"))
                ):
                    shutil.copy2(result, out)
    debs = sorted(out.glob("*.deb"))
    for path in debs:
        log.info(f"{path} ({run.size(path)})")
    return debs
