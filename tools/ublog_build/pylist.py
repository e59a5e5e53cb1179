"""dumb-pypi's JSON package list for a directory of wheels and sdists.

``dumb-pypi --package-list-json`` turns the list into the PEP 503 index
dist/repo/simple/. Each line names one file with its sha256 (pip checks it:
the ``#sha256=`` URL fragment), its ``Requires-Python``
(``data-requires-python``, so pip skips what the target interpreter cannot
run) and, for wheels, the PEP 658 ``core_metadata`` hash of the
``<wheel>.metadata`` file written next to the wheel (pip then resolves from
the metadata alone, without opening the wheel).
"""

import email.parser
import json
import tarfile
import zipfile
from pathlib import Path

from .errors import BuildError
from .wheels import sha256


def metadata_bytes(path: Path) -> bytes:
    """The core metadata of a wheel (METADATA) or an sdist (PKG-INFO)."""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as whl:
            # The wheel's own, at its top (setuptools vendors packages with
            # their .dist-info below setuptools/_vendor/).
            names = [
                n
                for n in whl.namelist()
                if n.endswith(".dist-info/METADATA") and n.count("/") == 1
            ]
            if len(names) != 1:
                raise BuildError(f"{path}: expected one .dist-info/METADATA")
            return whl.read(names[0])
    with tarfile.open(path) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        member = sdist.extractfile(f"{top}/PKG-INFO")
        if member is None:
            raise BuildError(f"{path}: no {top}/PKG-INFO")
        return member.read()


def entry(path: Path) -> dict:
    raw = metadata_bytes(path)
    meta = email.parser.BytesParser().parsebytes(raw)
    line = {"filename": path.name, "hash": f"sha256={sha256(path)}"}
    if meta.get("Requires-Python"):
        line["requires_python"] = meta["Requires-Python"]
    if path.name.endswith(".whl"):
        sidecar = path.with_name(path.name + ".metadata")
        sidecar.write_bytes(raw)
        line["core_metadata"] = f"sha256={sha256(sidecar)}"
    return line


def package_list(directory: Path) -> str:
    """One JSON object a line, a line per distribution file of ``directory``."""
    files = sorted(
        p for p in directory.iterdir() if p.name.endswith((".whl", ".tar.gz", ".zip"))
    )
    if not files:
        raise BuildError(f"no wheels or sdists in {directory}")
    return "".join(json.dumps(entry(p), sort_keys=True) + "\n" for p in files)
