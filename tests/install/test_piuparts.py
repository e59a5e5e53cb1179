"""piuparts on the built .deb: install into a clean bookworm chroot, purge,
and compare, failing on anything left behind or still running.

The chroot has no init system: this also proves that the postinst completes
where no service ever starts (it runs the PostgreSQL cluster itself, then
stops it). The base tarball is cached under CACHE_DIR/piuparts; the
dependencies come from the Debian mirror.
"""

import os
import subprocess
import time
from pathlib import Path

from test_deb import the_deb

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CACHE_DIR", Path.home() / ".cache" / "ublog"))
MIRROR = os.environ.get("MIRROR", "http://deb.debian.org/debian")


def test_piuparts_install_purge():
    debs = [the_deb("bookworm")]
    base = CACHE / "piuparts" / "bookworm.tar.gz"
    base.parent.mkdir(parents=True, exist_ok=True)
    reuse = ["-b", str(base)] if base.exists() else [f"--save={base}"]
    started = time.monotonic()
    result = subprocess.run(
        ["piuparts", "--no-eatmydata", "--install-recommends"]
        + ["-d", "bookworm", "-m", MIRROR, *reuse]
        + [str(debs[0])],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    print(f"\n[figure] piuparts: {time.monotonic() - started:.0f} s")
    tail = "\n".join(result.stdout.splitlines()[-60:])
    assert result.returncode == 0, tail + result.stderr[-2000:]
    assert "PASS: Installation and purging test." in result.stdout
