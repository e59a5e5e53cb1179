"""Checksums of files, as the tests compare them."""

import hashlib
from pathlib import Path


def sha256(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
