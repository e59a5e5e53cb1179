"""One site on four hosts: a database host, two app hosts, a load balancer.

Each host is a booted Debian 12 (systemd-nspawn) from the same cached base
root, in its own network namespace; a LAN (a bridge in a namespace of its
own, 10.214.0.0/24) joins them and reaches nothing else. The host of the
tests talks to each over its own veth.

* db  (10.214.0.10): PostgreSQL listening on its LAN address only, with
  scram-sha-256 for the ublog role, and memcached (the shared cache and
  session store);
* app1, app2 (.11, .12): `apt-get install --no-install-recommends ublog`
  with a pre-seeded /etc/ublog/ublog.conf (role = app, the remote database
  with a password file and sslmode = require, memcached, the same secret
  key); the media directory is one directory of the test host bind-mounted
  into both (as an NFS mount would be);
* lb  (.2): the same package, role = lb: nginx balancing over the two.

Checked: requests through the load balancer reach both app hosts (their
access logs say so, with the client's real address); a login made through
one host holds on the other; an image uploaded through app1 is served by
app2; the migration lock is a database lock (an app host waits while the
database holds it); the app hosts are upgraded one at a time under load
through the load balancer (failed requests counted: none allowed); with one
app host down, the site keeps answering.
"""

import os
import re
import secrets
import time
from pathlib import Path

import pytest
from conftest import _letters, base_root
from test_deb import (
    APT_LOCAL,
    LOCAL_LIST,
    REPO,
    apt,
    deb_depends,
    multipart,
    png_bytes,
    report,
    the_deb,
)
from test_upgrade import NEXT, Load
from testbed import PREFIX, Lan, Testbed

ROOT = Path(__file__).resolve().parents[2]
LAN = "10.214.0"
DB, APP1, APP2, LB = f"{LAN}.10", f"{LAN}.11", f"{LAN}.12", f"{LAN}.2"
DB_PASSWORD = secrets.token_urlsafe(24)
SECRET_KEY = secrets.token_urlsafe(50)
LOCK_KEY = int.from_bytes(b"ublog", "big")  # see ublog_site's preparedb
USER_PASSWORD = "correct horse battery 7"


@pytest.fixture(scope="module")
def cluster_root():
    """The base root with ublog's dependencies and memcached prefetched."""
    return base_root(" ".join([*deb_depends(the_deb()), "memcached"]))


def name():
    return f"{PREFIX}{os.getpid()}{next(_letters)}"


def set_up_database_host(db):
    db.run("apt-get install -y -q --no-download postgresql memcached", timeout=600)
    db.run(
        "echo \"listen_addresses = '" + DB + "'\" "
        "> /etc/postgresql/15/main/conf.d/ublog-lan.conf"
    )
    db.run(
        f"echo 'host ublog ublog {LAN}.0/24 scram-sha-256' "
        ">> /etc/postgresql/15/main/pg_hba.conf"
    )
    db.run("systemctl restart postgresql")
    sql = f"CREATE ROLE ublog LOGIN PASSWORD '{DB_PASSWORD}'"
    db.run(["runuser", "-u", "postgres", "--", "psql", "-Xqc", sql])
    db.run(["runuser", "-u", "postgres", "--", "createdb", "-O", "ublog", "ublog"])
    db.run(f"sed -i 's/^-l 127.0.0.1$/-l {DB}/' /etc/memcached.conf")
    db.run("systemctl restart memcached")
    deadline = time.monotonic() + 30
    while True:
        listening = db.run("ss -Hltn").stdout
        if f"{DB}:5432" in listening and f"{DB}:11211" in listening:
            break
        if time.monotonic() > deadline:
            status = db.run("systemctl status memcached postgresql", check=False)
            pytest.fail(f"not listening on {DB}: {listening}\n{status.stdout}")
        time.sleep(0.2)
    # PostgreSQL listens on the LAN address only.
    assert not re.search(r"(0\.0\.0\.0|\*|127\.0\.0\.1|\[::\]):5432", listening)


def preseed(tb, conf: str, password: bool = False):
    """What an admin writes before `apt install ublog` on a cluster host."""
    tb.run(["mkdir", "-p", "/etc/ublog"])
    tb.run(["sh", "-c", "cat > /etc/ublog/ublog.conf"], input=conf)
    if password:
        tb.run(["sh", "-c", "cat > /etc/ublog/database-password"], input=DB_PASSWORD)


def app_conf(lb_public: str, addresses: list[str]) -> str:
    hosts = ", ".join([lb_public, LB, *addresses, "localhost"])
    return f"""[ublog]
secret_key = {SECRET_KEY}
allowed_hosts = {hosts}
role = app

[database]
host = {DB}
password_file = /etc/ublog/database-password
sslmode = require

[cache]
backend = memcached
location = {DB}:11211

[cluster]
load_balancers = {LB}
"""


def lb_conf() -> str:
    return f"""[ublog]
secret_key = {secrets.token_urlsafe(50)}
role = lb

[cluster]
app_servers = {APP1}:80, {APP2}:80
"""


def add_repo(tb, *debs):
    for deb in debs:
        tb.copy_in(deb, f"{REPO}/{deb.name}")
    tb.run(f"cd {REPO} && apt-ftparchive packages . > Packages")
    tb.run(f"echo 'deb [trusted=yes] file:{REPO} ./' > {LOCAL_LIST}")
    tb.run(f"apt-get update -q {APT_LOCAL}")


def wait_for(session, path="/", timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        response = session.get(path)
        if response.status == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def requests_logged(tb) -> int:
    """Requests the app host's nginx logged from the load balancer."""
    log = tb.run("cat /var/log/nginx/access.log", check=False).stdout
    return len(log.splitlines())


def test_one_site_on_four_hosts(cluster_root, tmp_path, next_deb):
    deb = the_deb()
    media = tmp_path / "shared-media"  # the "NFS export"
    media.mkdir()
    started = time.monotonic()
    beds = {}
    with Lan(name()) as lan:
        try:
            for role in ("db", "app1", "app2", "lb"):
                binds = [(media, "/var/lib/ublog/media")] if "app" in role else []
                beds[role] = Testbed(
                    name(), cluster_root, workdir=tmp_path, binds=binds
                ).__enter__()
            db, app1, app2, lb = (beds[r] for r in ("db", "app1", "app2", "lb"))
            for tb, address in ((db, DB), (app1, APP1), (app2, APP2), (lb, LB)):
                lan.attach(tb, address)
            report("four hosts booted", f"{time.monotonic() - started:.1f} s")
            check_cluster(db, app1, app2, lb, deb, next_deb, media)
        finally:
            for tb in reversed(list(beds.values())):
                tb.close()
    report("cluster test", f"{time.monotonic() - started:.1f} s")


def check_cluster(db, app1, app2, lb, deb, next_deb, media):
    set_up_database_host(db)

    # --- install: app hosts without a local PostgreSQL, then the balancer ----
    for tb, address in ((app1, APP1), (app2, APP2)):
        preseed(tb, app_conf(lb.address, [tb.address, address]), password=True)
        add_repo(tb, deb)
        out = apt(tb, "install", "ublog", recommends=False)
        assert "ublog-ctl setup: done" in out.stdout, out.stdout[-3000:]
        assert "created PostgreSQL" not in out.stdout
        installed = tb.run("dpkg-query -W -f '${Status}' postgresql", check=False)
        assert "install ok installed" not in installed.stdout  # no local server
        assert tb.run(["ublog-ctl", "role"]).stdout.strip() == "app"
        mode = tb.run(["stat", "-c", "%a %U %G", "/etc/ublog/database-password"])
        assert mode.stdout.split() == ["640", "root", "ublog"]
        assert tb.run(["systemctl", "is-active", "ublog.socket"]).stdout.strip() == (
            "active"
        )
    preseed(lb, lb_conf())
    add_repo(lb, deb)
    out = apt(lb, "install", "ublog", recommends=False)
    assert "role lb: no database and no ublog.service on this host" in out.stdout
    site = lb.run(["cat", "/etc/nginx/sites-enabled/ublog-lb"]).stdout
    assert f"server {APP1}:80" in site and f"server {APP2}:80" in site
    # The application does not run on the balancer (skipped, not failed).
    lb.run(["systemctl", "start", "ublog.service"])
    state = lb.run(["systemctl", "show", "-P", "ConditionResult", "ublog.service"])
    assert state.stdout.strip() == "no"
    assert lb.run(["systemctl", "is-failed", "ublog.service"], check=False).returncode
    # Nor its mail sender; both app hosts run one, sharing the outbox.
    assert lb.run(["systemctl", "is-failed", "ublog-mailer"], check=False).returncode
    for tb in (app1, app2):
        state = tb.run(["systemctl", "is-active", "ublog-mailer"], check=False)
        assert state.stdout.strip() == "active", tb.name

    # --- one database: both app hosts migrated it, one at a time -------------
    tables = db.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            "psql",
            "-XAtd",
            "ublog",
            "-c",
            "SELECT count(*) FROM django_migrations",
        ]  # fmt: skip
    ).stdout.strip()
    assert int(tables) > 10

    # --- through the balancer: both app hosts answer -----------------------------
    web = lb.session()
    assert wait_for(web).status == 200
    before = {tb.name: requests_logged(tb) for tb in (app1, app2)}
    for _ in range(20):
        assert lb.http("/static/ublog_site/site.css").status == 200
    served = {tb.name: requests_logged(tb) - before[tb.name] for tb in (app1, app2)}
    report("requests per app host (of 20 through the balancer)", served)
    assert all(count > 0 for count in served.values()), served
    # The app hosts log the client's address, not the balancer's.
    log = app1.run("tail -n 5 /var/log/nginx/access.log").stdout
    assert lb.host_address in log and LB not in log, log

    # --- a login through one host holds on the other -------------------------------
    app1.run(
        ["ublog-ctl", "createsuperuser", "--no-input", "--username", "alice"]
        + ["--email", "alice@example.org"],
        env={"DJANGO_SUPERUSER_PASSWORD": USER_PASSWORD},
    )
    web.get("/accounts/login/")
    logged_in = web.post_form(
        "/accounts/login/",
        {"username": "alice", "password": USER_PASSWORD},
        follow=False,
    )
    assert logged_in.status == 302, logged_in.text[:1000]
    for _ in range(6):  # round robin: each host serves some of these
        assert 'class="site-user">alice<' in web.get("/").text
    sessions = db.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            "psql",
            "-XAtd",
            "ublog",
            "-c",
            "SELECT count(*) FROM django_session",
        ]  # fmt: skip
    ).stdout.strip()
    assert sessions == "1"

    # --- media: uploaded through app1, served by app2 ------------------------
    direct = app1.session()
    direct.get("/new/")
    body, ctype = multipart(
        {"csrfmiddlewaretoken": direct.cookie("csrftoken"), "text": "shared"},
        {"image": ("p.png", png_bytes(5, 4), "image/png")},
    )
    created = direct.request(
        "/new/",
        "POST",
        body,
        {"Content-Type": ctype, "Referer": app1.url + "/new/"},
        follow=False,
    )
    assert created.status == 302, created.text[:1000]
    listing = app2.http("/").text
    assert "shared" in listing  # the same database, the list cache invalidated
    image = re.search(r'src="(/media/ublog_posts/[^"]+\.png)"', listing)[1]
    assert app2.http(image).body == png_bytes(5, 4)
    assert lb.http(image).body == png_bytes(5, 4)
    assert len(list(media.rglob("*.png"))) == 1

    # --- the migration lock lives in the database ---------------------------------
    db.run(
        [
            "systemd-run",
            "--unit=hold-migration-lock",
            "runuser",
            "-u",
            "postgres",
            "--",
            "psql",
            "-Xqd",
            "ublog",
            "-c",
            f"SELECT pg_advisory_lock({LOCK_KEY}), pg_sleep(6)",
        ]  # fmt: skip
    )
    time.sleep(1)
    waited = time.monotonic()
    out = app2.run(["ublog-ctl", "preparedb"]).stdout
    waited = time.monotonic() - waited
    assert "another host is migrating the database: waiting for it" in out, out
    assert "No migrations to apply." in out
    assert waited > 3, waited
    report("app2 waited for the migration lock held on the database", f"{waited:.1f} s")

    # --- rolling upgrade of the app hosts, under load through the balancer --------
    for tb in (app1, app2):
        add_repo(tb, deb, next_deb)
    load = Load(lb.address, ["/", "/static/ublog_site/site.css", image])
    load.start()
    time.sleep(2)
    upgrade_started = time.monotonic()
    try:
        for tb in (app1, app2):
            out = apt(tb, "install", "ublog", recommends=False)
            assert "ublog-ctl setup: done" in out.stdout, out.stdout[-3000:]
            version = tb.run(["dpkg-query", "-W", "-f", "${Version}", "ublog"])
            assert version.stdout == NEXT
        upgraded_in = time.monotonic() - upgrade_started
        time.sleep(2)
    finally:
        load.stop.set()
        load.join()
    report("rolling upgrade of two app hosts", f"{upgraded_in:.1f} s")
    report(
        "requests through the balancer during it",
        f"{load.ok} ok, {len(load.failed)} failed {load.failed[:5]}",
    )
    assert load.ok > 0 and load.failed == []
    assert f"μblog {NEXT}" in lb.http("/").text

    # --- one app host down: the site keeps answering --------------------------------
    app2.run(["systemctl", "stop", "nginx", "ublog.socket", "ublog.service"])
    answers = [lb.http("/").status for _ in range(10)]
    assert answers == [200] * 10, answers
    app2.run(["systemctl", "start", "ublog.socket", "nginx"])
    assert app2.http(image).status == 200
    # The balancer retries a failed host after fail_timeout (5 s).
    time.sleep(6)
    app1.run(["systemctl", "stop", "nginx"])
    answers = [lb.http(image).status for _ in range(10)]
    assert answers == [200] * 10, answers
    app1.run(["systemctl", "start", "nginx"])
