"""The .debs' compiled code runs on the release's own libraries.

Every ELF file each release's .deb ships is a CPython extension module
(Pillow's, psycopg-c's), none is a shared library and no ``*.libs/``
directory of bundled copies is left; every library a module needs
(``NEEDED``) is a file of a Debian package of that release (installed in
the release's base root, or among the .debs prefetched there for ublog),
and that package is in the .deb's Depends, which dh_shlibdeps computed: so
the release's security updates of libjpeg, libwebp, zlib or libpq are what
the site runs on once its workers restart (test_library_updates shows it).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from support.elf import bundling_problems, elf_files
from support.figures import report
from support.payloads import payload_of_deb
from support.rootfs import unpacked
from ublog_build import control
from ublog_build import deb as debs
from ublog_build.releases import RELEASES

#: Where a Debian package ships the shared libraries ld.so finds.
LIBRARY_DIRS = re.compile(r"^/?(usr/)?lib/x86_64-linux-gnu/")


def library_owners(root: Path) -> dict[str, str]:
    """``{file name: package}`` of the shared libraries of every package
    installed in ``root`` or prefetched in its apt archives."""
    owners = {}
    for listing in sorted((root / "var/lib/dpkg/info").glob("*.list")):
        package = listing.name.removesuffix(".list").split(":")[0]
        for line in listing.read_text().splitlines():
            if LIBRARY_DIRS.match(line) and ".so" in line:
                owners.setdefault(line.rsplit("/", 1)[1], package)
    for archive in sorted((root / "var/cache/apt/archives").glob("*.deb")):
        package = archive.name.split("_")[0]
        contents = subprocess.run(
            ["dpkg-deb", "--contents", str(archive)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        for line in contents.splitlines():
            path = line.split()[5].removeprefix(".")
            if LIBRARY_DIRS.match(path.lstrip("/")) and ".so" in path:
                owners.setdefault(path.rsplit("/", 1)[1], package)
    return owners


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.codename)
def test_compiled_modules_link_only_to_libraries_of_the_release(release, roots):
    deb = debs.release_deb(release)
    payload = payload_of_deb(deb)
    elves = elf_files({p: data for p, data in payload.items() if data is not None})
    assert not bundling_problems(list(payload), elves)
    modules = {Path(path).name.split(".")[0] for path in elves}
    assert {"_imaging", "_webp", "_psycopg", "pq"} <= modules, sorted(elves)

    owners = library_owners(unpacked(roots(release)))
    depends = set(control.names(debs.fields(deb, "Depends")))
    problems = []
    for path, libraries in sorted(elves.items()):
        for library in libraries:
            package = owners.get(library)
            if package is None:
                problems.append(f"{path}: {library} is in no {release.label} package")
            elif package not in depends:
                problems.append(f"{path}: {library} ({package}) not in Depends")
    assert not problems, "\n".join(problems)
    linked = {library for libraries in elves.values() for library in libraries}
    assert {"libpq.so.5", "libjpeg.so.62", "libwebp.so.7", "libz.so.1"} <= linked
    report(
        f"{release.codename}: ELF files in the .deb",
        f"{len(elves)} modules, linked to {', '.join(sorted(linked))}",
    )
