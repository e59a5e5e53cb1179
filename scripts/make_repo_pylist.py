"""Write dumb-pypi's JSON package list for a directory of wheels and sdists.

scripts/make-repo runs this, then ``dumb-pypi --package-list-json`` turns the
list into the PEP 503 index ``dist/repo/simple/``. Each line names one file
with its sha256 (pip checks it: the ``#sha256=`` URL fragment), its
``Requires-Python`` (``data-requires-python``, so pip skips what the target
interpreter cannot run) and, for wheels, the PEP 658 ``core_metadata`` hash of
the ``<wheel>.metadata`` file it writes next to the wheel (pip then resolves
from the metadata alone, without opening the wheel).

    python make_repo_pylist.py DIR > packages.json
"""

import email.parser
import hashlib
import json
import sys
import tarfile
import zipfile
from pathlib import Path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def metadata_bytes(path: Path) -> bytes:
    """The core metadata of a wheel (METADATA) or an sdist (PKG-INFO)."""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as whl:
            names = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
            if len(names) != 1:
                raise SystemExit(f"{path}: expected one .dist-info/METADATA")
            return whl.read(names[0])
    with tarfile.open(path) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        member = sdist.extractfile(f"{top}/PKG-INFO")
        if member is None:
            raise SystemExit(f"{path}: no {top}/PKG-INFO")
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


def main(directory: str) -> None:
    files = sorted(
        p
        for p in Path(directory).iterdir()
        if p.name.endswith((".whl", ".tar.gz", ".zip"))
    )
    if not files:
        raise SystemExit(f"no wheels or sdists in {directory}")
    for path in files:
        print(json.dumps(entry(path), sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
