"""The .rpm: the same wheels in a venv under /opt, built with rpmbuild from
rpm/ublog.spec, offline (a network namespace of its own when root).

Its SOURCES are staged into a temporary %_topdir, removed afterwards:

* ``wheels.tar``: our wheels and dist/wheelhouse (made for
  :data:`releases.RPM_PYTHON`: the pinned dependency wheels, the sdists the
  spec compiles and what compiling them needs);
* ``requirements.txt``: the same file the .deb's venv is made from
  (:func:`ublog_build.wheels.requirements`), and ``build-requirements.txt``;
* ``shared.tar``: packaging/shared/, what the .deb installs too;
* every other file of rpm/, and LICENSE (packages/ublog-site/).

Both tarballs are deterministic (sorted, owner 0, mtime SOURCE_DATE_EPOCH)
and SOURCE_DATE_EPOCH fixes every timestamp of the RPM: two builds are
byte-identical.
"""

import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from . import paths, releases, run, wheels
from .errors import BuildError

log = run.logger("rpm")

PACKAGER = "ublog developers <dev@ublog.invalid>"
SPEC = "ublog.spec"

#: The Debian package that stands for each of the spec's BuildRequires on
#: this (Debian) build host, where rpmbuild runs with --nodeps.
DEBIAN_BUILD_REQUIRES = {
    f"python{releases.RPM_PYTHON}": f"python{releases.RPM_PYTHON}",
    f"python{releases.RPM_PYTHON}-devel": f"python{releases.RPM_PYTHON}-dev",
    "gcc": "gcc",
    "libjpeg-turbo-devel": "libjpeg-dev",
    "libpq-devel": "libpq-dev",
    "libwebp-devel": "libwebp-dev",
    "zlib-devel": "zlib1g-dev",
}


def build_requires(spec: Path) -> list[str]:
    """The spec's BuildRequires, with %{ublog_python} expanded."""
    names = []
    for line in spec.read_text().splitlines():
        if line.startswith("BuildRequires:"):
            value = line.split(":", 1)[1].strip()
            names.append(value.replace("%{ublog_python}", releases.RPM_PYTHON))
    return names


def check_build_requires(spec: Path = paths.ROOT / "rpm" / SPEC) -> None:
    """Each BuildRequires of the spec is installed here as its Debian package."""
    missing = []
    for name in build_requires(spec):
        if name not in DEBIAN_BUILD_REQUIRES:
            raise BuildError(
                f"BuildRequires {name} has no Debian equivalent",
                "add it to DEBIAN_BUILD_REQUIRES in tools/ublog_build/rpm.py",
            )
        package = DEBIAN_BUILD_REQUIRES[name]
        status = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Status}", package],
            capture_output=True,
            text=True,
        ).stdout
        if not status.endswith("ok installed"):
            missing.append(package)
    if missing:
        raise BuildError(
            f"the RPM's BuildRequires lack Debian packages: {' '.join(missing)}",
            "scripts/install-deps (or apt-get install them)",
        )


def deterministic_tar(output: Path, members: Iterable[tuple[Path, str]], epoch: int):
    """A tar of ``(path, name)`` members: sorted by name, owner 0, mtime
    ``epoch``, mode 0755 or 0644 (whether the file is executable)."""
    with tarfile.open(output, "w", format=tarfile.GNU_FORMAT) as tar:
        for path, name in sorted(members, key=lambda m: m[1]):
            info = tar.gettarinfo(path, arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = epoch
            if info.isreg():
                info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                with path.open("rb") as data:
                    tar.addfile(info, data)
            else:
                info.mode = 0o777 if info.issym() else 0o755
                tar.addfile(info)


def shared_tar(output: Path, epoch: int, root: Path = paths.ROOT) -> None:
    """packaging/shared/ as a deterministic tar, names relative to it."""
    shared = root / "packaging" / "shared"
    files = paths.source_files(shared, root)
    deterministic_tar(output, [(shared / name, str(name)) for name in files], epoch)


def python() -> Path:
    """The interpreter of the venv: an EL target's /usr/bin/python3.X
    (here: Debian's, the same minor version)."""
    path = Path(f"/usr/bin/python{releases.RPM_PYTHON}")
    if not path.exists():
        raise BuildError(f"{path} missing", f"apt-get install {path.name}")
    return path


def build(
    version: str | None = None,
    release: str | None = None,
    outdir: Path | None = None,
    epoch: int | None = None,
) -> Path:
    """Build the RPM into ``outdir`` (dist/rpm); its path.

    ``version`` defaults to the ublog-site wheel's, ``release`` to 1,
    ``epoch`` to :func:`paths.source_date_epoch`.
    """
    ours = wheels.ours()
    wheelhouse = wheels.check_wheelhouse(paths.DIST / "wheelhouse", releases.RPM_PYTHON)
    run.require_tools("rpmbuild")
    python()  # the venv's interpreter must be there
    check_build_requires()
    site = next(w for w in ours if w.name.startswith("ublog_site-"))
    version = version or site.name.split("-")[1]
    release = str(release or 1)
    outdir = Path(outdir or paths.DIST / "rpm")
    epoch = epoch if epoch is not None else paths.source_date_epoch()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ublog-rpmbuild.") as name:
        top = Path(name)
        for directory in ("SOURCES", "BUILD", "BUILDROOT", "RPMS", "SPECS"):
            (top / directory).mkdir()
        sources = top / "SOURCES"
        deterministic_tar(
            sources / "wheels.tar",
            [(w, f"wheels/{w.name}") for w in ours + wheelhouse],
            epoch,
        )
        (sources / "requirements.txt").write_text(wheels.requirements())
        shutil.copy2(wheels.BUILD_REQUIREMENTS, sources / "build-requirements.txt")
        shared_tar(sources / "shared.tar", epoch)
        for source in sorted((paths.ROOT / "rpm").iterdir()):
            if source.is_file() and source.name != SPEC:
                shutil.copy2(source, sources)
        shutil.copy2(paths.ROOT / "packages" / "ublog-site" / "LICENSE", sources)
        shutil.copy2(paths.ROOT / "rpm" / SPEC, top / "SPECS")
        # No network during the build: a fresh network namespace has only a
        # down loopback (unshare needs root; without it pip --no-index still
        # keeps the build offline).
        offline = []
        if os.geteuid() == 0 and shutil.which("unshare"):
            offline = ["unshare", "--net"]
        defines = {
            "_topdir": top,
            "ublog_version": version,
            "ublog_release": release,
            "ublog_python": releases.RPM_PYTHON,
            "packager": PACKAGER,
        }
        # --nodeps: the BuildRequires (the interpreter) are dpkg's here, not
        # in an rpmdb; HOME: the caller's ~/.rpmmacros cannot change the result.
        run.run(
            offline
            + ["rpmbuild", "-bb", "--nodeps", "--quiet"]
            + [arg for k, v in defines.items() for arg in ("--define", f"{k} {v}")]
            + [top / "SPECS" / SPEC],
            env=run.environ(HOME=str(top), SOURCE_DATE_EPOCH=str(epoch)),
            what="rpmbuild",
        )
        built = top / "RPMS" / "x86_64" / f"ublog-{version}-{release}.x86_64.rpm"
        if not built.is_file():
            raise BuildError(f"rpmbuild made no {built.name}")
        outdir.mkdir(parents=True, exist_ok=True)
        for old in outdir.glob("ublog-*.x86_64.rpm"):
            old.unlink()
        shutil.move(built, outdir / built.name)
    path = outdir / built.name
    installed = int(run.output(["rpm", "-qp", "--qf", "%{SIZE}", path]))
    log.info(
        f"{path} in {time.monotonic() - started:.1f} s: "
        f"{path.stat().st_size / 1e6:.1f} MB (installed {installed / 1e6:.1f} MB)"
    )
    return path
