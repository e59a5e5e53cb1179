"""What a built package installs, read from the package file itself.

``{path: bytes}`` of a .deb (``dpkg-deb --fsys-tarfile``) or an RPM
(``rpm2cpio``), ``None`` for directories and links: what the payload
tests check without installing anything.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path


def payload_of_deb(deb: Path) -> dict[str, bytes | None]:
    """Path -> content (None for directories and links) of a .deb."""
    listing = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    files = {}
    with tarfile.open(fileobj=io.BytesIO(listing)) as tar:
        for member in tar:
            name = "/" + member.name.removeprefix("./").rstrip("/")
            files[name] = tar.extractfile(member).read() if member.isfile() else None
    return files


def payload_of_rpm(rpm: Path, tmp_path: Path) -> dict[str, bytes | None]:
    target = tmp_path / "rpm-root"
    target.mkdir()
    cpio = subprocess.run(
        ["rpm2cpio", str(rpm)], capture_output=True, check=True
    ).stdout
    subprocess.run(
        ["cpio", "-idm", "--quiet", "--no-absolute-filenames"],
        input=cpio, cwd=target, check=True,
    )  # fmt: skip
    names = subprocess.run(
        ["rpm", "-qlp", str(rpm)], capture_output=True, text=True, check=True
    ).stdout.split()
    files = {}
    for name in names:
        path = target / name.lstrip("/")
        regular = path.is_file() and not path.is_symlink()
        files[name] = path.read_bytes() if regular else None
    return files
