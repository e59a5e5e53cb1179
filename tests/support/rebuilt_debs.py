"""A library package installed in a testbed, rebuilt as a newer version.

What a Debian security update looks like to an installed system, made
without a mirror: :func:`installed_deb` finds the .deb a package was
installed from (apt keeps it in the container's cache, see
:mod:`ublog_build.base_root`), and :func:`rebuild` makes a copy of it with
a higher version whose shared libraries are genuinely different files:
each carries an extra, unloaded ELF section holding a token of the
caller's (``objcopy --add-section``), so the file a process maps can be
told from the one it replaced. The rebuilt package's md5sums match its
files. Runs on the host, which has dpkg-deb and objcopy (binutils).
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from support.elf import is_elf

ARCHIVES = "var/cache/apt/archives"
#: The section that carries the token.
SECTION = ".ublog.rebuild"


@dataclass(frozen=True)
class Rebuilt:
    """A rebuilt package: its .deb, version and shared libraries (paths as
    installed, e.g. ``/usr/lib/x86_64-linux-gnu/libpq.so.5.15``)."""

    deb: Path
    version: str
    libraries: list[str]


def host(*argv: str | Path) -> str:
    """Run a tool on the host; its output."""
    return subprocess.run(
        [str(arg) for arg in argv], capture_output=True, text=True, check=True
    ).stdout


def installed_version(tb, package: str) -> str:
    """The version of ``package`` installed in the testbed."""
    out = tb.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", package])
    status, version = out.stdout.rsplit(" ", 1)
    assert status == "install ok installed", f"{package}: {out.stdout}"
    return version


def installed_deb(tb, package: str) -> Path:
    """The .deb (on the host, in the testbed's root) that ``package`` was
    installed from."""
    version = installed_version(tb, package)
    cached = sorted((tb.root / ARCHIVES).glob(f"{package}_*.deb"))
    for deb in cached:
        if host("dpkg-deb", "-f", deb, "Version").strip() == version:
            return deb
    raise AssertionError(
        f"no {package} {version} .deb in the testbed's /{ARCHIVES}: {cached}"
    )


def shared_libraries(tree: Path) -> list[Path]:
    """The shared-library files (ELF, not links) of an unpacked package."""
    return sorted(
        path
        for path in tree.rglob("*.so*")
        if path.is_file()
        and not path.is_symlink()
        and is_elf(path.read_bytes()[:4])
        and "DEBIAN" not in path.relative_to(tree).parts
    )


def mark(library: Path, token: str) -> None:
    """Add :data:`SECTION` holding ``token`` to ``library``, in place."""
    note = library.with_name(library.name + ".token")
    note.write_text(token)
    host("objcopy", f"--add-section={SECTION}={note}", library)
    note.unlink()


def set_version(tree: Path, version: str) -> None:
    """Give the unpacked package ``version``."""
    control = tree / "DEBIAN" / "control"
    lines = [
        f"Version: {version}" if line.startswith("Version:") else line
        for line in control.read_text().splitlines()
    ]
    control.write_text("\n".join(lines) + "\n")


def write_md5sums(tree: Path) -> None:
    """Recompute the sum of every file ``DEBIAN/md5sums`` lists."""
    md5sums = tree / "DEBIAN" / "md5sums"
    lines = []
    for line in md5sums.read_text().splitlines():
        name = line.split(maxsplit=1)[1]
        digest = hashlib.md5((tree / name).read_bytes()).hexdigest()
        lines.append(f"{digest}  {name}")
    md5sums.write_text("\n".join(lines) + "\n")


def rebuild(deb: Path, workdir: Path, token: str, suffix: str) -> Rebuilt:
    """``deb`` rebuilt in ``workdir`` as version ``<its version><suffix>``,
    each shared library carrying ``token``."""
    tree = workdir / f"{deb.stem}.tree"
    host("dpkg-deb", "--raw-extract", deb, tree)
    libraries = shared_libraries(tree)
    assert libraries, f"{deb.name} holds no shared library"
    for library in libraries:
        mark(library, token)
        assert token.encode() in library.read_bytes(), library
    version = host("dpkg-deb", "-f", deb, "Version").strip() + suffix
    set_version(tree, version)
    write_md5sums(tree)
    package = host("dpkg-deb", "-f", deb, "Package").strip()
    arch = host("dpkg-deb", "-f", deb, "Architecture").strip()
    out = workdir / f"{package}_{version.replace(':', '%3a')}_{arch}.deb"
    host("dpkg-deb", "--build", tree, out)
    installed = ["/" + str(lib.relative_to(tree)) for lib in libraries]
    return Rebuilt(out, version, installed)
