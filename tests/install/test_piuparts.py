"""piuparts on the built .debs, in clean merged-/usr chroots (as Debian 12
installs are), failing on anything left behind or still running:

* install the oldest release's .deb, purge (answering yes to
  ublog/purge_data: delete the data), compare;
* Debian's release upgrade: install ublog of the oldest release from an
  archive (a local one holding its .deb, beside Debian's), ``apt-get
  dist-upgrade`` the chroot to the next release (ublog stays, on its
  versioned interpreter) and remove the obsolete packages nothing needs
  (``piuparts-scripts/``), install the next release's .deb over it, purge,
  and compare with the same chroot upgraded without ublog.

The chroots have no init system: this also proves that the maintainer
scripts complete where no service ever starts (the postinst runs the
PostgreSQL cluster itself, then stops it). The base tarball is cached
under CACHE_DIR/piuparts; the packages come from the Debian mirror.
"""

import os
import subprocess
import time
from pathlib import Path

from support.figures import report
from support.localrepo import flat_repo
from ublog_build import deb as debs
from ublog_build.paths import cache_dir
from ublog_build.releases import MIRROR, RELEASES

OLD, NEW = RELEASES[0], RELEASES[1]
#: piuparts's custom scripts (run in its chroots): the release upgrade's,
#: and the purge's answer to ublog/purge_data (delete the data).
SCRIPTS = Path(__file__).parent / "piuparts-scripts"
#: What the next release's systemd and debconf leave behind when purged with
#: ublog's other dependencies (none of it ublog's): systemd's postinst links
#: /etc/vconsole.conf, its tmpfiles make /root/.ssh (credentials) and the
#: DynamicUser= "private" directories; debconf leaves a temporary directory.
NEXT_RELEASE_LEFTOVERS = [
    "/etc/vconsole.conf",
    "/root/.ssh/",
    "/var/cache/debconf/tmp.ci/",
    "/var/cache/private/",
    "/var/lib/private/",
    "/var/log/private/",
]


def piuparts(name: str, options: list[str], deb: Path) -> str:
    """Run piuparts on ``deb`` from a cached base tarball of the oldest
    release; its output, after asserting it passed."""
    base = cache_dir() / "piuparts" / f"{OLD.codename}-merged-usr.tar.gz"
    base.parent.mkdir(parents=True, exist_ok=True)
    reuse = ["-b", str(base)] if base.exists() else [f"--save={base}"]
    mirror = os.environ.get("MIRROR", MIRROR)
    started = time.monotonic()
    result = subprocess.run(
        ["piuparts", "--no-eatmydata", "--install-recommends", "--merged-usr"]
        + ["-m", mirror, *reuse, *options, str(deb)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    report(name, f"{time.monotonic() - started:.0f} s")
    tail = "\n".join(result.stdout.splitlines()[-60:])
    assert result.returncode == 0, tail + result.stderr[-2000:]
    return result.stdout


def test_piuparts_install_purge(release_deb):
    out = piuparts(
        "piuparts",
        ["-d", OLD.codename, "--scriptsdir", str(SCRIPTS)],
        release_deb(OLD),
    )
    assert "PASS: Installation and purging test." in out


def test_piuparts_upgrade_between_releases(release_deb, tmp_path):
    old_deb, new_deb = release_deb(OLD), release_deb(NEW)
    archive = flat_repo(tmp_path / "ublog-archive", [old_deb])
    out = piuparts(
        f"piuparts {OLD.codename} -> {NEW.codename}",
        ["-d", OLD.codename, "-d", NEW.codename]
        + ["--scriptsdir", str(SCRIPTS), "--bindmount", str(archive)]
        + ["--extra-repo", f"deb [trusted=yes] file://{archive} ./"]
        + [f"--ignore={path}" for path in NEXT_RELEASE_LEFTOVERS],
        new_deb,
    )
    # ublog of the old release was installed from the archive and kept
    # through the dist-upgrade: the new release's .deb unpacks over it.
    old_version, new_version = (
        debs.fields(deb, "Version").strip() for deb in (old_deb, new_deb)
    )
    assert f"Unpacking ublog ({new_version}) over ({old_version})" in out, out[-3000:]
    assert "PASS: Upgrading between Debian distributions." in out
