"""Upgrades and failures on a booted Debian (the oldest release): nothing
lost, clear errors.

Installs the current .deb, fills the site (users, posts with images, likes),
then upgrades with `apt-get install` to the next release built by the
pipeline (a new migration, a changed template) while visitors on the host
keep using the site: reading pages, publishing anonymous posts, logging in
and liking, every request answered by the application (none for static
files or media, which nginx alone serves). Checks: no request failed, every
row and media file is still there and so is every post the visitors made
during the upgrade, the service runs the new code, the pre-upgrade backup
exists and restores, a downgrade is refused, a stopped PostgreSQL makes the
postinst fail with one line and a hint (and `dpkg --configure -a` finishes
the job once it runs again), a broken configuration is named by
`ublog-ctl check` and the service refuses to start on it.
"""

import hashlib
import time

from support.artifacts import deb_version, upstream_version
from support.db import psql
from support.figures import report
from support.images import png_bytes
from support.load import LIMITS as LOAD_LIMITS
from support.load import Load
from support.localrepo import add_repo, apt, install_ublog
from support.site import (
    configure,
    create_superuser,
    like,
    login,
    publish,
    wait_for_200,
)
from support.snapshot import VISITOR, counts, made_under_load, media_sums
from support.testbed import Testbed
from ublog_build import next_version
from ublog_build.paths import ROOT
from ublog_build.releases import RELEASES

PASSWORD = "correct horse battery"
#: The release installed and upgraded (the oldest).
OLDEST = RELEASES[0]


def test_upgrade_keeps_everything_and_failures_are_clear(
    ublog_root, release_deb, bed_args, next_deb
):
    release = OLDEST
    deb = release_deb(release)
    old, new = deb_version(deb), deb_version(next_deb)
    with Testbed(tarball=ublog_root, **bed_args) as tb:
        install_ublog(tb, deb)
        configure(tb, {"limits": LOAD_LIMITS})

        # --- data: users, posts with images, likes -----------------------------
        for name in ("alice", VISITOR):
            create_superuser(tb, name, PASSWORD)
        anonymous = tb.session()
        pks = [
            publish(anonymous, f"anonymous {i}", png_bytes(2 + i), "photo.png")
            for i in range(3)
        ]
        alice = tb.session()
        login(alice, "alice", PASSWORD)
        pks.append(publish(alice, "alice's own", png_bytes(7), "photo.png"))
        for pk in pks[:2]:
            assert like(alice, pk) == {"liked": True, "count": 1}
        before = counts(tb)
        assert before == "4|2|2"
        sums = media_sums(tb)
        assert sums.count("\n") == 8  # each image and its thumbnail

        # --- the upgrade, under load -----------------------------------------------
        add_repo(tb, next_deb)
        load = Load(tb.url, pks[0], VISITOR, PASSWORD)
        load.start()
        time.sleep(2)
        started = time.monotonic()
        upgrade = apt(tb, "install", "ublog")
        upgraded_in = time.monotonic() - started
        time.sleep(3)  # the restarted service answers the queued requests
        load.finish()
        report(f"upgrade {old} -> {new} (apt-get install)", f"{upgraded_in:.1f} s")
        report("requests during the upgrade", load.summary())
        assert load.posts > 0 and load.sent["GET list"] > 0
        assert load.failed == []
        assert "backed up the database and media before upgrading" in upgrade.stdout

        # Every row and every media file is still there, and so is what the
        # visitors made during the upgrade; the new code runs.
        assert counts(tb) == before
        assert media_sums(tb) == sums
        report("rows before/after (posts|likes|users)", f"{before} / {counts(tb)}")
        assert made_under_load(tb) == (
            load.sent["POST anonymous post"],
            int(bool(load.liked)),
        )
        page = wait_for_200(tb).text
        assert f"μblog {upstream_version(next_deb)}" in page
        applied = psql(
            tb,
            "SELECT name FROM django_migrations WHERE app='ublog_posts' ORDER BY id",
            "ublog",
        )
        # The shipped migrations, then the one the next version adds.
        migrations = ROOT / next_version.MIGRATIONS
        _latest, added = next_version.new_migration(migrations)
        assert applied.split() == [*next_version.shipped_migrations(migrations), added]
        version = tb.run(["dpkg-query", "-W", "-f", "${Version}", "ublog"]).stdout
        assert version == new

        # The pre-upgrade backup exists and restores.
        backups = tb.run("ls /var/backups/ublog").stdout.split()
        dumps = [b for b in backups if b.endswith(f"-{old}.dump")]
        assert len(dumps) == 1, backups
        psql(tb, "DELETE FROM ublog_posts_like", "ublog")
        tb.run(["ublog-ctl", "restore", dumps[0]])
        tb.run(["ublog-ctl", "migrate", "--no-input"])
        assert counts(tb) == before
        assert media_sums(tb) == sums

        # --- a downgrade is refused; the newer version stays -------------------
        refused = tb.run(
            f"apt-get install -y -q --allow-downgrades ublog={old}", check=False
        )
        assert refused.returncode != 0
        said = refused.stdout + refused.stderr
        assert f"refusing to downgrade from {new} to {old}" in said
        version = tb.run(["dpkg-query", "-W", "-f", "${Version}", "ublog"]).stdout
        assert version == new
        assert wait_for_200(tb).status == 200

        # --- PostgreSQL stopped: one line and a hint; then it completes ---------
        tb.run("systemctl stop postgresql")
        failed = tb.run("apt-get install -y -q --reinstall ublog", check=False)
        assert failed.returncode != 0
        said = (failed.stdout + failed.stderr).splitlines()
        lines = [ln for ln in said if ln.startswith("ublog-ctl setup: ")]
        cluster = f"PostgreSQL cluster {release.postgresql}/main"
        assert lines and f"{cluster} is not running" in lines[0]
        assert "hint: systemctl start postgresql, then: dpkg --configure -a" in lines[0]
        tb.run("systemctl start postgresql")
        tb.run("dpkg --configure -a", timeout=600)
        assert tb.run(["dpkg-query", "-W", "-f", "${Status}", "ublog"]).stdout == (
            "install ok installed"
        )
        assert wait_for_200(tb).status == 200
        assert counts(tb) == before

        # --- a broken configuration: named, and the service refuses it --------
        conf = tb.run(["cat", "/etc/ublog/ublog.conf"]).stdout
        lines = conf.splitlines()
        start = lines.index("[database]")
        line = next(i for i in range(start, len(lines)) if lines[i].startswith("#port"))
        lines[line] = "port = abc"
        tb.run(["sh", "-c", "cat > /etc/ublog/ublog.conf"], input="\n".join(lines))
        line += 1  # 1-based, as in the message
        check = tb.run(["ublog-ctl", "check"], check=False)
        assert check.returncode == 2
        assert f"ublog.conf:{line}: [database] port: 'abc' is not an integer" in (
            check.stderr
        )
        restarted = tb.run(["systemctl", "restart", "ublog.service"], check=False)
        assert restarted.returncode != 0
        # Refused: never active (systemd retries, Restart=on-failure, and
        # gives up at the start limit); the reason is in the journal.
        state = tb.run(["systemctl", "is-active", "ublog.service"], check=False)
        assert state.stdout.strip() in ("failed", "activating")
        result = tb.run(["systemctl", "show", "-p", "Result", "--value", "ublog"])
        assert result.stdout.strip() == "exit-code"
        journal = tb.run("journalctl -u ublog.service --no-pager -o cat").stdout
        assert "[database] port: 'abc' is not an integer" in journal
        tb.run(["sh", "-c", "cat > /etc/ublog/ublog.conf"], input=conf)
        tb.run(["systemctl", "restart", "ublog.service"])
        assert wait_for_200(tb).status == 200
        after = tb.run(["cat", "/etc/ublog/ublog.conf"]).stdout
        assert (
            hashlib.sha256(after.encode()).digest()
            == hashlib.sha256(conf.encode()).digest()
        )
