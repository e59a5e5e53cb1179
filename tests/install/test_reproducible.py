"""The released .debs are reproducible: building the same source again, for
the same release, in a fresh clean chroot (scripts/build-release-debs, as
`make` does) gives byte-identical .debs.

On a difference, the test names every file whose contents, mode, owner or
mtime differ inside the two packages (and the control members), which is what
diffoscope would point at first.
"""

import hashlib
import io
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from test_deb import RELEASES, report, the_deb

ROOT = Path(__file__).resolve().parents[2]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def members(deb: Path, member: str) -> dict[str, tuple]:
    """``dpkg-deb --fsys-tarfile`` (or --ctrl-tarfile) as {name: metadata}."""
    option = "--fsys-tarfile" if member == "data" else "--ctrl-tarfile"
    raw = subprocess.run(
        ["dpkg-deb", option, str(deb)], capture_output=True, check=True
    ).stdout
    found = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for info in tar:
            data = tar.extractfile(info).read() if info.isfile() else b""
            found[info.name] = (
                info.mode,
                info.uid,
                info.gid,
                info.mtime,
                info.linkname,
                hashlib.sha256(data).hexdigest(),
            )
    return found


def differences(a: Path, b: Path) -> list[str]:
    out = []
    for member in ("control", "data"):
        left, right = members(a, member), members(b, member)
        for name in sorted(left.keys() | right.keys()):
            if left.get(name) != right.get(name):
                out.append(f"{member}: {name}: {left.get(name)} != {right.get(name)}")
    return out


@pytest.mark.parametrize("release", RELEASES)
def test_a_second_build_is_byte_identical(release, tmp_path):
    first = the_deb(release)
    started = time.monotonic()
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-release-debs"), "--release", release]
        + ["--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report(f"{release}: second build", f"{time.monotonic() - started:.0f} s")
    second = tmp_path / first.name
    assert second.is_file(), sorted(p.name for p in tmp_path.iterdir())
    if sha256(first) != sha256(second):
        diff = differences(first, second)
        pytest.fail(
            f"{first.name} differs between two builds; {len(diff)} members:\n"
            + "\n".join(diff[:60])
        )
    report(f"{release}: sha256 of both builds", sha256(first)[:16])
