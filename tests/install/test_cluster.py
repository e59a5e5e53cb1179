"""One site on four hosts: a database host, two app hosts, a load balancer.

Each host is a booted Debian of the oldest release (systemd-nspawn) from
the same cached base root, in its own network namespace; a LAN (a bridge in
a namespace of its own, 10.214.0.0/24) joins them and reaches nothing
else. The host of the tests talks to each over its own veth.

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
through the load balancer (visitors read pages, publish anonymous posts,
log in and like, every request reaching an application host: failed requests
counted, none allowed, and every post they made is in the database); with
one app host down, the site keeps answering.
"""

import re
import secrets
import time
from collections import Counter

import pytest
from support.artifacts import deb_version, upstream_version
from support.clients import network, race, wait_for_window
from support.db import django
from support.figures import report
from support.httpclient import HttpSession, unverified
from support.images import png_bytes, png_size
from support.lan import Lan
from support.leftovers import new_name
from support.load import LIMITS as LOAD_LIMITS
from support.load import POST_TEXT, Load
from support.localrepo import add_repo, apt, install_ublog
from support.pagecache import warm, watch_change
from support.site import (
    CONF,
    create_superuser,
    image_src,
    login,
    publish,
    wait_for_200,
    with_settings,
)
from support.testbed import Testbed
from ublog_build.releases import RELEASES

#: The release every host runs (the oldest).
RELEASE = RELEASES[0]
LAN = "10.214.0"
DB, APP1, APP2, LB = f"{LAN}.10", f"{LAN}.11", f"{LAN}.12", f"{LAN}.2"
DB_PASSWORD = secrets.token_urlsafe(24)
SECRET_KEY = secrets.token_urlsafe(50)
LOCK_KEY = int.from_bytes(b"ublog", "big")  # see ublog_site's preparedb
USER_PASSWORD = "correct horse battery 7"
PG_CONF = f"/etc/postgresql/{RELEASE.postgresql}/main"
LB_SITE = "/etc/nginx/sites-available/ublog-lb"
#: The rolling upgrade's load runs with these (every other limit as packaged).
LIMITS = "[limits]\n" + "".join(
    f"{key} = {value}\n" for key, value in LOAD_LIMITS.items()
)


@pytest.fixture(scope="module")
def cluster_root(roots):
    """The base root with ublog's dependencies and memcached prefetched."""
    return roots(RELEASE, "memcached")


def db_query(db, sql: str) -> str:
    """One value from the ublog database on the database host."""
    return db.run(
        ["runuser", "-u", "postgres", "--", "psql", "-XAtd", "ublog", "-c", sql]
    ).stdout.strip()


def set_up_database_host(db):
    db.run("apt-get install -y -q --no-download postgresql memcached", timeout=600)
    db.run(
        "echo \"listen_addresses = '" + DB + f"'\" > {PG_CONF}/conf.d/ublog-lan.conf"
    )
    db.run(f"echo 'host ublog ublog {LAN}.0/24 scram-sha-256' >> {PG_CONF}/pg_hba.conf")
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

{LIMITS}"""


def lb_conf() -> str:
    return f"""[ublog]
secret_key = {secrets.token_urlsafe(50)}
role = lb

[cluster]
app_servers = {APP1}:80, {APP2}:80

{LIMITS}"""


def requests_logged(tb) -> int:
    """Requests the app host's nginx logged from the load balancer (its
    health checks, ublog-lb-check's /healthz, aside)."""
    log = tb.run("cat /var/log/nginx/access.log", check=False).stdout
    return len([line for line in log.splitlines() if " /healthz " not in line])


def test_one_site_on_four_hosts(cluster_root, release_deb, tmp_path, next_deb):
    deb = release_deb(RELEASE)
    media = tmp_path / "shared-media"  # the "NFS export"
    media.mkdir()
    started = time.monotonic()
    beds = {}
    with Lan(new_name()) as lan:
        try:
            for role in ("db", "app1", "app2", "lb"):
                binds = [(media, "/var/lib/ublog/media")] if "app" in role else []
                beds[role] = Testbed(
                    new_name(), cluster_root, workdir=tmp_path, binds=binds
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


CLEAR_COUNTERS = "from django.core.cache import caches; caches['counters'].clear()"


def check_limits_across_app_hosts(app1, app2, lb):
    """Wrong logins from one client, 32 at a time through the balancer,
    each claiming another address in X-Forwarded-For: the two app hosts
    count them in one place (memcached), so exactly the limit gets
    through, whichever host answers."""
    django(app1, CLEAR_COUNTERS)  # the logins above came from this client
    webs = [lb.session() for _ in range(60)]
    for web in webs:
        web.get("/accounts/login/")
    logged = {tb.name: logins_logged(tb) for tb in (app1, app2)}
    wait_for_window(network(lb.host_address), 600)
    jobs = [
        (lambda web=web, i=i: web.post_form(
            "/accounts/login/", {"username": secrets.token_hex(8), "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"}))
        for i, web in enumerate(webs)
    ]  # fmt: skip
    answers = race(jobs, 32)
    statuses = Counter(answer.status for answer in answers)
    assert not [s for s in statuses if s >= 500], statuses
    passed = len(answers) - statuses[429]
    served = {tb.name: logins_logged(tb) - logged[tb.name] for tb in (app1, app2)}
    report(
        "login limit across two app hosts (memcached, 32-way, 60 tries)",
        f"30 configured, {passed} through; answered per host {served}",
    )
    assert passed == 30, statuses
    assert all(n > 0 for n in served.values()), served
    django(app1, CLEAR_COUNTERS)  # the load below logs in from this client


def logins_logged(tb) -> int:
    log = tb.run("cat /var/log/nginx/access.log", check=False).stdout
    return log.count("POST /accounts/login/")


def apply(tb, settings: dict[str, dict[str, str]]) -> None:
    """Add ``settings`` to the host's ublog.conf and run ublog-ctl setup."""
    before = tb.run(["cat", CONF]).stdout
    tb.run(["sh", "-c", f"cat > {CONF}"], input=with_settings(before, settings))
    tb.run(["ublog-ctl", "setup"])


def lb_site_has(lb, text: str, present: bool, timeout: float = 30) -> float:
    """Seconds until the balancer's site does (or does not) contain
    ``text``; fails after ``timeout``."""
    started = time.monotonic()
    while (text in lb.run(["cat", LB_SITE]).stdout) != present:
        assert time.monotonic() - started < timeout, (text, present)
        time.sleep(0.5)
    return time.monotonic() - started


def check_health_checks(app1, app2, lb):
    """ublog-lb-check.service asks every app host's /healthz: one whose
    application is gone (its nginx answers 502) is taken out of the
    balancer, and put back once it answers again."""
    assert lb.run(["systemctl", "is-active", "ublog-lb-check"]).stdout == "active\n"
    for tb in (app1, app2):  # skipped (ExecCondition), not failed, elsewhere
        assert tb.run(
            ["systemctl", "is-failed", "ublog-lb-check"], check=False
        ).returncode
    app2.run(["systemctl", "stop", "ublog.socket", "ublog.service"])
    out = lb_site_has(lb, f"server {APP2}:80 max_fails=1 fail_timeout=5s down;", True)
    report(
        "app host without its application taken out of the balancer after",
        f"{out:.1f} s",
    )
    journal = ["journalctl", "-u", "ublog-lb-check", "-o", "cat", "--no-pager"]
    log = lb.run(journal).stdout
    assert f"{APP2}:80: /healthz 502" in log and "taken out of the balancer" in log, log
    before = requests_logged(app1)
    assert [lb.http("/").status for _ in range(6)] == [200] * 6
    assert requests_logged(app1) - before == 6  # all to the healthy host
    app2.run(["systemctl", "start", "ublog.socket"])
    back = lb_site_has(lb, " down;", False)
    report("and put back after it answered again", f"{back:.1f} s")
    assert f"{APP2}:80: /healthz answers again" in lb.run(journal).stdout


def check_tls_at_the_balancer(app1, app2, lb):
    """The balancer ends TLS (self-signed); the app hosts (https = true)
    believe its X-Forwarded-Proto and nobody else's. Before, each app host's
    nginx overwrote it with "http" and Django redirected every request to
    itself."""
    lb_site_has(lb, " down;", False)  # app1 is back from the test before
    apply(lb, {"tls": {"mode": "self-signed"}})
    for tb in (app1, app2):
        apply(tb, {"ublog": {"https": "true"}})
    secure = HttpSession(f"https://{lb.address}", tls=unverified())
    before = {tb.name: requests_logged(tb) for tb in (app1, app2)}
    answers = [secure.request("/", follow=False) for _ in range(6)]
    assert [answer.status for answer in answers] == [200] * 6  # no loop
    served = {tb.name: requests_logged(tb) - before[tb.name] for tb in (app1, app2)}
    assert all(count > 0 for count in served.values()), served
    hsts = [
        v
        for k, v in answers[0].headers.items()
        if k.lower() == "strict-transport-security"
    ]
    assert hsts == ["max-age=31536000; includeSubDomains"], answers[0].headers
    plain = lb.session().request("/", follow=False)
    assert (plain.status, plain.headers["Location"]) == (
        301,
        f"https://{lb.address}/",
    )
    assert lb.session().request("/healthz").status == 200
    for tb in (app1, app2):  # Django's check --deploy: no security warning
        check = tb.run("ublog-ctl check 2>&1").stdout
        warnings = set(re.findall(r"\((\w+\.[WE]\d+)\)", check))
        # These app hosts have no MTA (ublog_site.W002 says so); nothing else.
        assert warnings <= {"ublog_site.W002"}, (tb.name, check)
    # Anyone else's X-Forwarded-Proto is replaced by the connection's scheme.
    forged = app1.session().request(
        "/", headers={"X-Forwarded-Proto": "https"}, follow=False
    )
    assert (forged.status, forged.headers["Location"]) == (
        301,
        f"https://{app1.address}/",
    )


def check_cluster(db, app1, app2, lb, deb, next_deb, media):
    set_up_database_host(db)

    # --- install: app hosts without a local PostgreSQL, then the balancer ----
    for tb, address in ((app1, APP1), (app2, APP2)):
        preseed(tb, app_conf(lb.address, [tb.address, address]), password=True)
        out = install_ublog(tb, deb, recommends=False)
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
    tables = db_query(db, "SELECT count(*) FROM django_migrations")
    assert int(tables) > 10

    # --- through the balancer: both app hosts answer -----------------------------
    web = lb.session()
    assert wait_for_200(web).status == 200
    before = {tb.name: requests_logged(tb) for tb in (app1, app2)}
    for _ in range(20):
        assert lb.http("/static/ublog_site/site.css").status == 200
    served = {tb.name: requests_logged(tb) - before[tb.name] for tb in (app1, app2)}
    report("requests per app host (of 20 through the balancer)", served)
    assert all(count > 0 for count in served.values()), served
    # The app hosts log the client's address, not the balancer's.
    log = app1.run("grep -v ' /healthz ' /var/log/nginx/access.log | tail -n 5").stdout
    assert lb.host_address in log and LB not in log, log

    # --- a login through one host holds on the other -------------------------------
    create_superuser(app1, "alice", USER_PASSWORD)
    login(web, "alice", USER_PASSWORD)
    for _ in range(6):  # round robin: each host serves some of these
        assert 'class="site-user">alice<' in web.get("/").text
    assert db_query(db, "SELECT count(*) FROM django_session") == "1"

    check_limits_across_app_hosts(app1, app2, lb)

    # --- media: uploaded through app1, served by app2 (no anonymous list
    # was asked for on app2 before: nothing of it is in its micro-cache) -----
    shared = publish(app1.session(), "shared", png_bytes(5, 4))
    listing = app2.http("/").text
    assert "shared" in listing  # the same database, the list cache invalidated
    image = image_src(listing)
    served = app2.http(image).body
    assert png_size(served) == (5, 4)  # re-encoded on upload
    assert lb.http(image).body == served
    assert len(list(media.rglob("*.png"))) == 2  # the image and its thumbnail

    # --- nginx's micro-cache: both app hosts hold the anonymous list; a new
    # post (a text: quick to write) shows on both within a second ----------
    readers = {"app1": app1.session(), "app2": app2.session()}
    for reader in readers.values():
        warm(reader, "/")
    text = f"cached on two hosts {time.monotonic_ns()}"
    publish(app1.session(), text)
    change = watch_change(
        readers, "/", lambda page: text in page.text, time.monotonic()
    )
    report("micro-cache: a new post on two app hosts", change.summary())

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
    load = Load(lb.url, shared, "alice", USER_PASSWORD)
    load.start()
    time.sleep(2)
    upgrade_started = time.monotonic()
    try:
        for tb in (app1, app2):
            out = apt(tb, "install", "ublog", recommends=False)
            assert "ublog-ctl setup: done" in out.stdout, out.stdout[-3000:]
            version = tb.run(["dpkg-query", "-W", "-f", "${Version}", "ublog"])
            assert version.stdout == deb_version(next_deb)
        upgraded_in = time.monotonic() - upgrade_started
        time.sleep(2)
    finally:
        load.finish()
    report("rolling upgrade of two app hosts", f"{upgraded_in:.1f} s")
    report("requests through the balancer during it", load.summary())
    assert load.posts > 0 and load.sent["GET list"] > 0
    assert load.failed == []
    posted = f"SELECT count(*) FROM ublog_posts_post WHERE text LIKE '{POST_TEXT}%'"
    assert db_query(db, posted) == str(load.sent["POST anonymous post"])
    assert f"μblog {upstream_version(next_deb)}" in lb.http("/").text

    check_health_checks(app1, app2, lb)

    # --- one app host down: the site keeps answering --------------------------------
    app2.run(["systemctl", "stop", "nginx", "ublog.socket", "ublog.service"])
    answers = [lb.http("/").status for _ in range(10)]
    assert answers == [200] * 10, answers
    # The balancer's /healthz (what a monitor or a DNS fail-over asks) is
    # the first healthy app host's: 200 while one serves.
    assert [lb.http("/healthz").status for _ in range(4)] == [200] * 4
    app2.run(["systemctl", "start", "ublog.socket", "nginx"])
    assert app2.http(image).status == 200
    # The health check puts it back; nginx retries a failed host after
    # fail_timeout (5 s).
    lb_site_has(lb, " down;", False)
    time.sleep(6)
    app1.run(["systemctl", "stop", "nginx"])
    answers = [lb.http(image).status for _ in range(10)]
    assert answers == [200] * 10, answers
    app1.run(["systemctl", "start", "nginx"])

    check_tls_at_the_balancer(app1, app2, lb)
