"""Upgrades and failures on a booted Debian 12: nothing lost, clear errors.

Installs the current .deb, fills the site (users, posts with images, likes),
then upgrades with `apt-get install` to the next release built by
scripts/build-next-version (a new migration, a changed template) while a load
generator on the host keeps requesting pages. Checks: every row and media
file is still there, the service runs the new code, the pre-upgrade backup
exists and restores, a downgrade is refused, a stopped PostgreSQL makes the
postinst fail with one line and a hint (and `dpkg --configure -a` finishes
the job once it runs again), a broken configuration is named by
`ublog-ctl check` and the service refuses to start on it.
"""

import hashlib
import http.client
import re
import threading
import time
from pathlib import Path

from test_deb import (
    APT_LOCAL,
    LOCAL_LIST,
    REPO,
    apt,
    deb_version,
    multipart,
    png_bytes,
    psql,
    report,
    the_deb,
    wait_for_200,
)
from testbed import Testbed

ROOT = Path(__file__).resolve().parents[2]
NEXT = "0.1.1"


class Load(threading.Thread):
    """Requests pages from the host until stopped; counts what failed."""

    def __init__(self, host: str, paths: list[str], limit: float = 600):
        super().__init__(daemon=True)
        self.host, self.paths, self.limit = host, paths, limit
        self.stop = threading.Event()
        self.ok = 0
        self.failed: list[str] = []

    def run(self):
        deadline = time.monotonic() + self.limit
        i = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            path = self.paths[i % len(self.paths)]
            i += 1
            try:
                conn = http.client.HTTPConnection(self.host, 80, timeout=30)
                conn.request("GET", path)
                status = conn.getresponse().status
                conn.close()
            except OSError as exc:
                self.failed.append(f"{path}: {exc}")
                continue
            if status == 200:
                self.ok += 1
            else:
                self.failed.append(f"{path}: HTTP {status}")


def counts(tb):
    sql = (
        "SELECT (SELECT count(*) FROM ublog_posts_post),"
        " (SELECT count(*) FROM ublog_posts_like),"
        " (SELECT count(*) FROM auth_user)"
    )
    return psql(tb, sql, "ublog")


def media_sums(tb):
    out = tb.run(
        "cd /var/lib/ublog/media && find . -type f | sort | xargs -r sha256sum"
    )
    return out.stdout


def post(web, tb, text, image=None):
    web.get("/new/")
    files = {"image": ("photo.png", image, "image/png")} if image else {}
    body, ctype = multipart(
        {"csrfmiddlewaretoken": web.cookie("csrftoken"), "text": text}, files
    )
    response = web.request(
        "/new/",
        "POST",
        body,
        {"Content-Type": ctype, "Referer": tb.url + "/new/"},
        follow=False,
    )
    assert response.status == 302, response.text[:1000]
    return int(re.search(r"/(\d+)/$", response.headers["Location"])[1])


def test_upgrade_keeps_everything_and_failures_are_clear(
    ublog_root, bed_args, next_deb
):
    deb = the_deb()
    old = deb_version(deb)
    with Testbed(tarball=ublog_root, **bed_args) as tb:
        tb.copy_in(deb, f"{REPO}/{deb.name}")
        tb.run(f"cd {REPO} && apt-ftparchive packages . > Packages")
        tb.run(f"echo 'deb [trusted=yes] file:{REPO} ./' > {LOCAL_LIST}")
        tb.run(f"apt-get update -q {APT_LOCAL}")
        apt(tb, "install", "ublog")
        assert wait_for_200(tb).status == 200

        # --- data: users, posts with images, likes -----------------------------
        for name in ("alice", "bob"):
            tb.run(
                ["ublog-ctl", "createsuperuser", "--no-input", "--username", name]
                + ["--email", f"{name}@example.org"],
                env={"DJANGO_SUPERUSER_PASSWORD": "correct horse battery"},
            )
        anonymous = tb.session()
        pks = [
            post(anonymous, tb, f"anonymous {i}", png_bytes(2 + i)) for i in range(3)
        ]
        alice = tb.session()
        alice.get("/accounts/login/")
        logged_in = alice.post_form(
            "/accounts/login/",
            {"username": "alice", "password": "correct horse battery"},
            follow=False,
        )
        assert logged_in.status == 302, logged_in.text[:1000]
        pks.append(post(alice, tb, "alice's own", png_bytes(7)))
        for pk in pks[:2]:
            liked = alice.post_form(
                f"/{pk}/like/", {}, headers={"Accept": "application/json"}
            )
            assert liked.json() == {"liked": True, "count": 1}
        before = counts(tb)
        assert before == "4|2|2"
        sums = media_sums(tb)
        assert sums.count("\n") == 4

        # --- the upgrade, under load -----------------------------------------------
        tb.copy_in(next_deb, f"{REPO}/{next_deb.name}")
        tb.run(f"cd {REPO} && apt-ftparchive packages . > Packages")
        tb.run(f"apt-get update -q {APT_LOCAL}")
        load = Load(tb.address, ["/", f"/{pks[0]}/", "/static/ublog_site/site.css"])
        load.start()
        time.sleep(2)
        started = time.monotonic()
        upgrade = apt(tb, "install", "ublog")
        upgraded_in = time.monotonic() - started
        time.sleep(3)  # the restarted service answers the queued requests
        load.stop.set()
        load.join()
        report(f"upgrade {old} -> {NEXT} (apt-get install)", f"{upgraded_in:.1f} s")
        report(
            "requests during the upgrade",
            f"{load.ok} ok, {len(load.failed)} failed {load.failed[:5]}",
        )
        assert load.ok > 0
        assert load.failed == []
        assert "backed up the database and media before upgrading" in upgrade.stdout

        # Every row and every media file is still there; the new code runs.
        assert counts(tb) == before
        assert media_sums(tb) == sums
        report("rows before/after (posts|likes|users)", f"{before} / {counts(tb)}")
        page = wait_for_200(tb).text
        assert f"μblog {NEXT}" in page
        applied = psql(
            tb,
            "SELECT name FROM django_migrations WHERE app='ublog_posts' ORDER BY id",
            "ublog",
        )
        assert applied.split() == ["0001_initial", "0002_post_owner_index"]
        version = tb.run(["dpkg-query", "-W", "-f", "${Version}", "ublog"]).stdout
        assert version == NEXT

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
        assert f"refusing to downgrade from {NEXT} to {old}" in said
        version = tb.run(["dpkg-query", "-W", "-f", "${Version}", "ublog"]).stdout
        assert version == NEXT
        assert wait_for_200(tb).status == 200

        # --- PostgreSQL stopped: one line and a hint; then it completes ---------
        tb.run("systemctl stop postgresql")
        failed = tb.run("apt-get install -y -q --reinstall ublog", check=False)
        assert failed.returncode != 0
        said = (failed.stdout + failed.stderr).splitlines()
        lines = [ln for ln in said if ln.startswith("ublog-ctl setup: ")]
        assert lines and "PostgreSQL cluster 15/main is not running" in lines[0]
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
