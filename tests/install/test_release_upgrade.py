"""Debian 12 -> 13 with ublog installed: the site survives the release
upgrade, its own upgrade and the PostgreSQL 15 -> 17 move; nothing lost.

One booted Debian 12 container with ublog +deb12u1 and data (users, posts
with images, likes, a signed-in session). The Debian 13 packages come from
a local repository, bind-mounted read-only (the upgrade closure the
pipeline computed: :mod:`ublog_build.upgrade_closure`), so nothing is
downloaded while the test runs. The journey, each step timed:

1. every Debian source switched to Debian 13, ublog's left on its Debian 12
   suite; ``apt full-upgrade`` while visitors use the site: ublog +deb12u1
   stays installed and serving on python3.11;
2. ublog's source switched to its Debian 13 package; ``apt full-upgrade``
   moves to +deb13u1 (a venv on python3.13), with the pre-upgrade backup;
3. ``ublog-ctl pg-upgrade`` moves the database from PostgreSQL 15 to 17;
   ``--cleanup`` then drops the old cluster.

After each step: the site answers 200, the rows and the media checksums are
those of before, the signed-in session still works and a new post can be
made. Disaster recovery: a backup of that Debian 12 host (taken before the
journey, with its data), restored with ``ublog-ctl restore`` on a fresh
Debian 13 host, gives the same site: rows, media and the secret key (the
Debian 12 session cookie is still signed in).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.db import psql
from support.figures import report
from support.httpclient import HttpSession
from support.images import png_bytes
from support.leftovers import new_name
from support.load import LIMITS as LOAD_LIMITS
from support.load import Load
from support.localrepo import add_repo, apt, flat_repo, install_ublog
from support.site import (
    PASSWORD,
    configure,
    create_superuser,
    like,
    login,
    publish,
    wait_for_200,
)
from support.snapshot import VISITOR, counts, made_under_load, media_sums
from support.testbed import Testbed
from ublog_build import deb as debs
from ublog_build import upgrade_closure
from ublog_build.errors import BuildError
from ublog_build.releases import RELEASES

OLD, NEW = RELEASES[0], RELEASES[1]
#: Where the Debian 13 packages are mounted in the container.
MIRROR = "/srv/debian-next"
#: apt options of an unattended release upgrade (Debian's release notes).
#: The site's name (its DNS name, moved to the new host after a disaster).
SITE_NAME = "blog.example.org"
UPGRADE = "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"


@pytest.fixture(scope="module")
def next_release_repo(tmp_path_factory) -> Path:
    """A flat apt repository of the Debian 13 upgrade closure (hard links
    to the cached .debs), indexed by apt-ftparchive."""
    try:
        closure = upgrade_closure.build(OLD, NEW)
    except BuildError as e:
        pytest.fail(f"{e}\n{e.details}" if e.details else str(e))
    repo = flat_repo(tmp_path_factory.mktemp("next") / "debian-next", closure)
    report(f"{OLD.codename} -> {NEW.codename} closure", f"{len(closure)} .debs")
    return repo


def signed_in(web, username: str) -> bool:
    """The session still belongs to ``username`` (the page names it)."""
    return f'class="site-user">{username}<' in web.get("/").text


def check_site(tb, web, before: str, sums: str, step: str) -> None:
    """After a step: 200, the same rows and media, the session signed in,
    and a new post made (by the signed-in user)."""
    assert wait_for_200(tb).status == 200, step
    assert counts(tb) == before, step
    assert media_sums(tb) == sums, step
    assert signed_in(web, "alice"), step
    pk = publish(web, f"after {step}", png_bytes(5), "after.png")
    assert pk, step
    psql(tb, f"DELETE FROM ublog_posts_post WHERE id = {pk}", "ublog")


def installed(tb, package: str) -> str:
    return tb.run(
        ["dpkg-query", "-W", "-f", "${Version} ${Status}", package], check=False
    ).stdout


@dataclass
class Debian12Site:
    """The Debian 12 host with data, and what it held before the journey."""

    tb: Testbed
    alice: object  # alice's signed-in HttpSession
    pks: list[int]
    counts: str
    media: str
    secret_key: str
    backup_stem: str
    backup: list[Path]  # the backup's files, copied off the host


@pytest.fixture(scope="module")
def debian12_site(ublog_root, release_deb, next_release_repo, tmp_path_factory):
    """ublog +deb12u1 serving users, posts with images and a like, its
    limits lifted for the load; a backup taken and copied off the host."""
    workdir = tmp_path_factory.mktemp("debian12")
    binds = [(next_release_repo, MIRROR)]
    with Testbed(new_name(), ublog_root, workdir, binds=binds) as tb:
        install_ublog(tb, release_deb(OLD))
        here = tb.run("sed -n 's/^allowed_hosts = //p' /etc/ublog/ublog.conf").stdout
        site_name = {"allowed_hosts": f"{SITE_NAME}, {here.strip()}"}
        configure(tb, {"limits": LOAD_LIMITS, "ublog": site_name})
        for name in ("alice", VISITOR):
            create_superuser(tb, name)
        alice = tb.session()
        login(alice, "alice", PASSWORD)
        pks = [
            publish(alice, f"before the upgrade {i}", png_bytes(3 + i), "p.png")
            for i in range(3)
        ]
        like(alice, pks[0])
        made = tb.run(["ublog-ctl", "backup"]).stdout
        stem = made.split("backup written: ")[1].split()[0].rsplit("/", 1)[1]
        stem = stem.removesuffix(".dump")
        offsite = workdir / "offsite"
        offsite.mkdir()
        for f in sorted((tb.root / "var/backups/ublog").glob(f"{stem}.*")):
            (offsite / f.name).write_bytes(f.read_bytes())
        yield Debian12Site(
            tb=tb,
            alice=alice,
            pks=pks,
            counts=counts(tb),
            media=media_sums(tb),
            secret_key=tb.run("grep '^secret_key' /etc/ublog/ublog.conf").stdout,
            backup_stem=stem,
            backup=sorted(offsite.iterdir()),
        )


def test_debian_12_to_13_keeps_the_site(debian12_site, release_deb):
    site = debian12_site
    tb, alice, pks = site.tb, site.alice, site.pks
    new_deb = release_deb(NEW)
    before, sums = site.counts, site.media
    assert before == "3|1|2"
    size = psql(tb, "SELECT pg_size_pretty(pg_database_size('ublog'))")
    report("database size before the journey", size)

    # --- 1. Debian 12 -> 13, ublog's suite unchanged, under load ----------------
    tb.run(f"echo 'deb [trusted=yes] file:{MIRROR} ./' > /etc/apt/sources.list")
    tb.run("apt-get update -q")
    since = tb.run("date +%s").stdout.strip()
    load = Load(tb.url, pks[0], VISITOR, PASSWORD, limit=3600)
    load.start()
    time.sleep(2)
    started = time.monotonic()
    apt(tb, UPGRADE, "full-upgrade", timeout=3600)
    step1 = time.monotonic() - started
    time.sleep(3)
    load.finish()
    report("1. apt full-upgrade to Debian 13", f"{step1:.0f} s")
    report("requests during the release upgrade", load.summary())
    report("failed requests during the release upgrade", len(load.failed))
    report("  by cause", dict(load.causes))
    report("  runs of failures (s)", load.outages())
    stops = tb.run(
        f"journalctl -o cat --no-pager --since @{since} "
        "-u 'postgresql@*' -u nginx.service | grep -E '^Stopping (nginx|postgresql@)'",
        check=False,
    ).stdout.splitlines()
    report("  services the upgrade stopped", stops)
    errors = tb.run(
        "journalctl -u ublog.service -o cat --no-pager | "
        "grep -B2 -A12 -E 'Traceback|Error' | tail -80",
        check=False,
    ).stdout
    report("ublog.service errors during the release upgrade", errors or "none")
    # The application waits for a restarting PostgreSQL ([database]
    # connect_wait); only the request in flight when a cluster is stopped can
    # fail (the load is one visitor), and nothing but nginx's own restart by
    # its package refuses connections.
    pg_stops = sum(1 for s in stops if "postgresql@" in s)
    server_errors = sum(n for c, n in load.causes.items() if c.startswith("HTTP 5"))
    assert server_errors <= pg_stops, (load.causes, stops)
    if load.causes["ConnectionRefusedError"]:
        assert any("nginx" in s for s in stops), (load.causes, stops)
    assert "13" in tb.run("cat /etc/debian_version").stdout
    assert installed(tb, "ublog").startswith(
        f"{debs.fields(release_deb(OLD), 'Version').strip()} install ok installed"
    ), installed(tb, "ublog")
    assert "install ok installed" in installed(tb, f"python{OLD.python}")
    check_site(tb, alice, before, sums, "the release upgrade")
    # Every post the visitors were told was made is there (one whose answer
    # was lost may be there too).
    posts, _ = made_under_load(tb)
    failed_posts = sum(1 for f in load.failed if f.startswith("POST anonymous"))
    answered = load.sent["POST anonymous post"]
    assert answered <= posts <= answered + failed_posts

    # --- 2. ublog's own suite switched: +deb13u1 ---------------------------------
    started = time.monotonic()
    add_repo(tb, new_deb)
    out = apt(tb, UPGRADE, "full-upgrade", timeout=1800).stdout
    report(
        "2. ublog upgraded to its Debian 13 package",
        f"{time.monotonic() - started:.0f} s",
    )
    assert "backed up the database and media before upgrading" in out
    assert installed(tb, "ublog").startswith(
        f"{debs.fields(new_deb, 'Version').strip()} install ok installed"
    )
    interpreter = tb.run("readlink -f /opt/venvs/ublog/bin/python3").stdout
    assert interpreter.strip() == f"/usr/bin/python{NEW.python}", interpreter
    before_step3 = counts(tb)
    check_site(tb, alice, before_step3, media_sums(tb), "ublog's upgrade")

    # --- 3. PostgreSQL 15 -> 17 ----------------------------------------------------
    # First a failed attempt: pg_upgradecluster cannot create the new
    # cluster's data directory (made immutable from the host). The site stays
    # on 15, serving, and the command runs again once the cause is gone.
    # (postgresql-17 made no cluster: Debian makes one only on a host without
    # any.)
    clusters = tb.run("pg_lsclusters --no-header").stdout
    assert f"{NEW.postgresql} main" not in clusters, clusters
    new_data = tb.root / f"var/lib/postgresql/{NEW.postgresql}"
    tb.run(f"install -d -o postgres -g postgres /var/lib/postgresql/{NEW.postgresql}")
    subprocess.run(["chattr", "+i", str(new_data)], check=True)
    try:
        failed = tb.run(["ublog-ctl", "pg-upgrade"], check=False, timeout=1800)
    finally:
        subprocess.run(["chattr", "-i", str(new_data)], check=True)
    assert failed.returncode != 0, failed.stdout
    assert f"the site runs on {OLD.postgresql}/main again" in failed.stderr, (
        failed.stdout + failed.stderr
    )
    assert "with its own configuration" in failed.stdout, failed.stdout
    clusters = tb.run("pg_lsclusters --no-header").stdout
    serving = [line for line in clusters.splitlines() if " 5432 " in line]
    assert serving and serving[0].startswith(f"{OLD.postgresql} main"), clusters
    assert f"{NEW.postgresql} main" not in clusters, clusters  # nothing half made
    check_site(tb, alice, before_step3, media_sums(tb), "a failed pg-upgrade")
    report("a failed pg-upgrade says", failed.stderr.strip().splitlines()[-2:])

    started = time.monotonic()
    out = tb.run(["ublog-ctl", "pg-upgrade"], timeout=1800).stdout
    took = time.monotonic() - started
    report("3. ublog-ctl pg-upgrade 15 -> 17", f"{took:.0f} s")
    clusters = tb.run("pg_lsclusters --no-header").stdout
    serving = [line for line in clusters.splitlines() if " 5432 " in line]
    assert serving and serving[0].startswith(f"{NEW.postgresql} main"), clusters
    assert "online" in serving[0], clusters
    check_site(tb, alice, before_step3, media_sums(tb), "pg-upgrade")
    tb.run(["ublog-ctl", "pg-upgrade", "--cleanup"])
    clusters = tb.run("pg_lsclusters --no-header").stdout
    assert f"{OLD.postgresql} main" not in clusters, clusters
    again = tb.run(["ublog-ctl", "pg-upgrade"]).stdout
    assert f"on PostgreSQL {NEW.postgresql}: the newest installed" in again


def test_a_debian_12_backup_restores_on_a_fresh_debian_13_host(
    debian12_site, roots, release_deb, tmp_path
):
    """Disaster recovery: the same rows, media and secret key."""
    site = debian12_site
    stem = site.backup_stem
    assert {f.name.removeprefix(stem) for f in site.backup} == {
        ".dump",
        ".media.tar.gz",
        ".config.tar.gz",
        ".sha256",  # checked by the restore before it touches anything
    }, site.backup
    cookie = site.alice.cookie("sessionid")
    assert cookie
    started = time.monotonic()
    with Testbed(new_name(), roots(NEW), tmp_path) as new:
        install_ublog(new, release_deb(NEW))
        secret = new.run("grep '^secret_key' /etc/ublog/ublog.conf").stdout
        assert secret != site.secret_key
        for f in site.backup:
            new.copy_in(f, f"/var/backups/ublog/{f.name}")
        out = new.run(["ublog-ctl", "restore", stem]).stdout
        assert "its ublog.conf included" in out, out
        # The restored allowed_hosts names the old host and the site: the
        # restore says so (visitors by this host's address get a 400)...
        assert "allowed_hosts does not name this host" in out, out
        new.run("ublog-ctl setup && systemctl restart ublog.service")
        # ... and the site answers by its name, as the old host did.
        returning = HttpSession(new.url, headers={"Host": SITE_NAME})
        assert wait_for_200(returning).status == 200
        assert new.session().get("/").status == 400
        secret = new.run("grep '^secret_key' /etc/ublog/ublog.conf").stdout
        assert secret == site.secret_key
        assert counts(new) == site.counts
        assert media_sums(new) == site.media
        page = returning.get("/", headers={"Cookie": f"sessionid={cookie}"}).text
        assert 'class="site-user">alice<' in page
        report(
            "restore of a Debian 12 backup on a fresh Debian 13 host",
            f"{time.monotonic() - started:.0f} s",
        )


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.codename)
def test_the_venv_runs_on_the_release_s_versioned_interpreter(release, release_deb):
    """No link to /usr/bin/python3 (the next release moves it), and the
    Depends names the versioned package that stays installed meanwhile."""
    deb = release_deb(release)
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    links = dict(
        line.split()[-3:][::2]
        for line in listing.splitlines()
        if line.startswith("l") and "/opt/venvs/ublog/bin/" in line
    )
    interpreter = f"./opt/venvs/ublog/bin/python{release.python}"
    assert links[interpreter] == f"/usr/bin/python{release.python}", links
    assert "/usr/bin/python3" not in links.values(), links
    depends = [d.strip() for d in debs.fields(deb, "Depends").split(",")]
    assert f"python{release.python}" in depends, depends
    assert not [d for d in depends if d.startswith("python3 ")], depends
