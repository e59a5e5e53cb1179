"""piuparts on the built .deb: install into a clean chroot of the oldest
release, purge, and compare, failing on anything left behind or still
running.

The chroot has no init system: this also proves that the postinst completes
where no service ever starts (it runs the PostgreSQL cluster itself, then
stops it). The base tarball is cached under CACHE_DIR/piuparts; the
dependencies come from the Debian mirror.
"""

import os
import subprocess
import time

from support.figures import report
from ublog_build.paths import cache_dir
from ublog_build.releases import MIRROR, RELEASES

RELEASE = RELEASES[0]


def test_piuparts_install_purge(release_deb):
    deb = release_deb(RELEASE)
    base = cache_dir() / "piuparts" / f"{RELEASE.codename}.tar.gz"
    base.parent.mkdir(parents=True, exist_ok=True)
    reuse = ["-b", str(base)] if base.exists() else [f"--save={base}"]
    mirror = os.environ.get("MIRROR", MIRROR)
    started = time.monotonic()
    result = subprocess.run(
        ["piuparts", "--no-eatmydata", "--install-recommends"]
        + ["-d", RELEASE.codename, "-m", mirror, *reuse]
        + [str(deb)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    report("piuparts", f"{time.monotonic() - started:.0f} s")
    tail = "\n".join(result.stdout.splitlines()[-60:])
    assert result.returncode == 0, tail + result.stderr[-2000:]
    assert "PASS: Installation and purging test." in result.stdout
