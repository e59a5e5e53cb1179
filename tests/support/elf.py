"""ELF files in a package's payload: which they are, what they link to.

What the .deb and .rpm tests ask of the venv's compiled code: every ELF
file is a CPython extension module (no shared library shipped inside
ublog, no ``*.libs/`` directory of a wheel's bundled copies), and the
libraries each one needs (``NEEDED``) are the system's.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

#: The file name of a CPython extension module: name.cpython-3XY-x86_64-linux-gnu.so
EXTENSION_MODULE = re.compile(r"[^/]+\.cpython-3\d+-x86_64-linux-gnu\.so")


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def needed(data: bytes) -> list[str]:
    """The ``NEEDED`` entries of an ELF file's dynamic section (readelf)."""
    with tempfile.NamedTemporaryFile(suffix=".so") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run(
            ["readelf", "--dynamic", "--wide", handle.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def elf_files(contents: dict[str, bytes]) -> dict[str, list[str]]:
    """``{path: NEEDED}`` of every ELF file among ``{path: bytes}``."""
    return {path: needed(data) for path, data in contents.items() if is_elf(data)}


def bundling_problems(paths: list[str], elves: dict[str, list[str]]) -> list[str]:
    """What says a payload carries its own native libraries: a ``*.libs``
    directory (auditwheel's), an ELF file that is not an extension module
    (a shared library), or a module needing a library by a path or an
    auditwheel-mangled name (``libpq-9b1e0c1f.so.5``)."""
    problems = [
        f"bundled libraries: {p}" for p in paths if re.search(r"\.libs(/|$)", p)
    ]
    for path, libraries in sorted(elves.items()):
        if not EXTENSION_MODULE.fullmatch(Path(path).name):
            problems.append(f"ELF file that is no extension module: {path}")
        for library in libraries:
            if "/" in library or re.search(r"-[0-9a-f]{8}\.so", library):
                problems.append(f"{path} needs a private copy: {library}")
    return problems
