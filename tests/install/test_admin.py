"""The admin's tools on an installed site (Debian 12, booted container):
``ublog-ctl --help`` and its bash completion, ``/healthz`` (through nginx,
any host, 503 at once without the database, named by ``ublog-ctl status``),
the daily backup timer and its checked backups (``sha256sum -c`` agrees,
``backup --to``), the package's own DEP-8 test run by autopkgtest (its
``null`` backend, inside the container), then HTTPS in each [tls] mode.

HTTPS, as an admin goes through it, each mode applied by `ublog-ctl
setup`: plain HTTP (the default), ``self-signed`` (the ssl-cert snakeoil
pair), ``files`` (a certificate and key of our own CA, then renewed in
place: nginx must serve the new pair without anyone running anything),
``acme`` (certbot's nginx plugin against Pebble, a real ACME server on the
container's loopback, validating the HTTP challenge through ublog's own
nginx; then a forced renewal), and back to plain HTTP. In each TLS mode:
HTTP redirects to HTTPS except /healthz, HTTPS serves with exactly one HSTS
header, cookies are Secure, a visitor can post over HTTPS, and `ublog-ctl
check` (Django's check --deploy) reports no issue. One container for all:
a second boot and install would add a minute to every run."""

import re
import time
from pathlib import Path

import pytest
from support import acme
from support.figures import report
from support.leftovers import new_name
from support.localrepo import install_ublog
from support.site import CONF, wait_for_200, with_settings
from support.testbed import Testbed
from ublog_build.paths import ROOT
from ublog_build.releases import RELEASES

RELEASE = RELEASES[0]
#: What the DEP-8 run needs beside ublog's dependencies (installed), and
#: the HTTPS tests' ACME server and client (start_pebble installs them).
DEP8 = ("autopkgtest", "curl", "dpkg-dev")
EXTRA = (*DEP8, *acme.PACKAGES)
HOST = "blog.example.test"
HSTS = "max-age=31536000; includeSubDomains"
OWN = "/etc/ublog/own-tls"
#: Our own CA and a leaf for HOST signed by it (``{n}``: a generation).
MAKE_PAIR = f"""set -e
mkdir -p {OWN} && cd {OWN}
[ -f ca.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
    -subj '/CN=ublog test CA' -keyout ca.key -out ca.pem 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -subj /CN={HOST} \
    -keyout new-{{n}}.key -out leaf.csr 2>/dev/null
echo 'subjectAltName=DNS:{HOST}' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 30 -extfile leaf.ext -out new-{{n}}.pem 2>/dev/null
"""


@pytest.fixture(scope="module")
def site(roots, release_deb, tmp_path_factory):
    with Testbed(
        new_name(), roots(RELEASE, *EXTRA), tmp_path_factory.mktemp("admin")
    ) as tb:
        install_ublog(tb, release_deb(RELEASE))
        tb.run("apt-get install -y -q --no-install-recommends " + " ".join(DEP8))
        acme.map_host(tb, HOST)
        yield tb


def test_help_lists_the_verbs_and_bash_completes_them(site):
    out = site.run(["ublog-ctl", "--help"]).stdout
    assert out.startswith("usage: ublog-ctl VERB [OPTIONS]")
    for verb in ("setup", "status", "backup", "restore", "pg-upgrade", "outbox"):
        assert f"\n  {verb} " in out, out
    assert "Type 'ctl.py help" not in out
    completed = site.run(
        "bash -c 'source /usr/share/bash-completion/completions/ublog-ctl; "
        'COMP_WORDS=(ublog-ctl pg); COMP_CWORD=1; _ublog_ctl; echo "${COMPREPLY[@]}"\''
    ).stdout.split()
    assert completed == ["pg-upgrade"]


def test_healthz_through_nginx_and_in_status(site):
    ok = site.http("/healthz", headers={"Host": "203.0.113.9"})
    assert (ok.status, ok.body) == (200, b"ok\n")
    assert "Set-Cookie" not in ok.headers
    assert (
        "healthz:  http://127.0.0.1/healthz: 200 ok"
        in site.run(["ublog-ctl", "status"]).stdout
    )
    cluster = f"postgresql@{RELEASE.postgresql}-main"
    site.run(f"systemctl stop {cluster}")
    try:
        assert "down" in site.run("pg_lsclusters --no-header").stdout
        started = time.monotonic()
        down = site.http("/healthz")
        took = time.monotonic() - started
        status = site.run(["ublog-ctl", "status"], check=False)
    finally:
        site.run(f"systemctl start {cluster}")
    report("healthz with PostgreSQL stopped", f"{down.status} in {took:.2f} s")
    assert down.status == 503 and down.body.startswith(b"database unavailable")
    assert took < 10  # the visitors' connect_wait (30 s) is not waited out
    assert status.returncode == 3
    assert "healthz:  http://127.0.0.1/healthz: 503 database unavailable" in (
        status.stdout
    )


def test_the_daily_backup_timer_makes_checked_backups(site):
    timer = "ublog-backup.timer"
    state = site.run(f"systemctl is-enabled {timer}; systemctl is-active {timer}")
    assert state.stdout.split() == ["enabled", "active"]
    site.run("systemctl start ublog-backup.service")
    newest = site.run("ls -t /var/backups/ublog/*.sha256 | head -n 1").stdout.strip()
    assert newest, site.run("journalctl -u ublog-backup.service --no-pager").stdout
    checked = site.run(f"cd /var/backups/ublog && sha256sum -c {Path(newest).name}")
    assert checked.stdout.count(": OK") == 3, checked.stdout
    site.run("install -d -m 700 /mnt/offsite")
    out = site.run(["ublog-ctl", "backup", "--to", "/mnt/offsite"]).stdout
    assert "copied to /mnt/offsite, checksums verified" in out


def test_the_package_s_dep8_test_passes(site):
    site.copy_in(ROOT / "debian", "/srv/ublog-source/debian")
    started = time.monotonic()
    result = site.run(
        "autopkgtest --no-built-binaries /srv/ublog-source -- null",
        check=False,
        timeout=900,
    )
    report(
        "autopkgtest (DEP-8 smoke, null backend)", f"{time.monotonic() - started:.0f} s"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "smoke                PASS" in result.stdout, result.stdout[-2000:]


# -- HTTPS in each [tls] mode ------------------------------------------------------


def apply(tb, settings: dict, env: dict | None = None, check: bool = True):
    """Set ``settings`` in ublog.conf and run ublog-ctl setup."""
    before = tb.run(["cat", CONF]).stdout
    tb.run(["sh", "-c", f"cat > {CONF}"], input=with_settings(before, settings))
    return tb.run(["ublog-ctl", "setup"], env=env, check=check)


def fetch(tb, url: str, *tls: str, method: str = "GET") -> tuple[int, dict]:
    """Status and headers (lower-case names, values listed) of ``url``,
    fetched inside the container as HOST resolves there."""
    out = tb.run(
        ["curl", "-sS", "-o", "/dev/null", "-D", "-", "-X", method, *tls, url]
    ).stdout
    status = int(out.split()[1])
    headers: dict[str, list[str]] = {}
    for line in out.splitlines()[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status, headers


def served_fingerprint(tb) -> str:
    return tb.run(
        f"openssl s_client -connect 127.0.0.1:443 -servername {HOST} </dev/null "
        "2>/dev/null | openssl x509 -noout -fingerprint -sha256"
    ).stdout.strip()


def file_fingerprint(tb, path: str) -> str:
    return tb.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", path]
    ).stdout.strip()


def post_over_https(tb, *tls: str) -> None:
    """An anonymous post as a browser makes it: Secure CSRF cookie, token,
    Referer; the post is listed afterwards."""
    jar = "/tmp/tls-jar"
    base = f"https://{HOST}"
    page = tb.run(["curl", "-fsS", *tls, "-c", jar, f"{base}/new/"]).stdout
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    cookies = tb.run(["cat", jar]).stdout
    # curl's jar: domain, subdomains, path, secure, expiry, name, value.
    secure = r"^\S+\t(TRUE|FALSE)\t/\tTRUE\t\d+\tcsrftoken\t"
    assert re.search(secure, cookies, re.M), cookies
    text = f"over https {time.monotonic_ns()}"
    tb.run(
        ["curl", "-fsS", *tls, "-b", jar, "-c", jar, "-o", "/dev/null"]
        + ["-H", f"Referer: {base}/new/", "--data-urlencode"]
        + [f"csrfmiddlewaretoken={token}", "--data-urlencode", f"text={text}"]
        + [f"{base}/new/"]
    )
    # The poster's next page, with the message the post left in a cookie
    # (which passes nginx's micro-cache by: others see it within a second).
    listed = tb.run(["curl", "-fsS", *tls, "-b", jar, f"{base}/"]).stdout
    assert text in listed


def check_https(tb, *tls: str) -> None:
    """What every TLS mode must give (``tls``: curl's trust options)."""
    status, headers = fetch(tb, f"http://{HOST}/posts?page=2")
    assert status == 301 and headers["location"] == [f"https://{HOST}/posts?page=2"]
    assert fetch(tb, f"http://{HOST}/healthz")[0] == 200  # monitoring: no redirect
    for path in ("/", "/static/ublog_site/site.css"):
        status, headers = fetch(tb, f"https://{HOST}{path}", *tls)
        assert status == 200, path
        assert headers["strict-transport-security"] == [HSTS], (path, headers)
    post_over_https(tb, *tls)
    check = tb.run("ublog-ctl check 2>&1").stdout
    assert "System check identified no issues" in check, check
    assert "WARNINGS" not in check


def test_plain_http_by_default(site):
    assert wait_for_200(site).status == 200
    refused = site.run(["curl", "-sk", f"https://{HOST}/"], check=False)
    assert refused.returncode == 7  # nothing listens on 443
    check = site.run("ublog-ctl check 2>&1", check=False).stdout
    assert {"security.W004", "security.W008"} <= set(
        re.findall(r"security\.W\d+", check)
    )


def test_self_signed_serves_the_snakeoil_pair(site):
    # The admin names the site (debconf asks): it joins allowed_hosts.
    out = apply(
        site, {"ublog": {"host_name": HOST}, "tls": {"mode": "self-signed"}}
    ).stdout
    assert "wrote /etc/nginx/sites-available/ublog" in out
    snakeoil = file_fingerprint(site, "/etc/ssl/certs/ssl-cert-snakeoil.pem")
    assert served_fingerprint(site) == snakeoil
    check_https(site, "-k")


def test_files_are_served_and_a_renewal_reaches_nginx_by_itself(site):
    site.run(MAKE_PAIR.format(n=1))
    # Bad input first: a key that is not there. Nothing changes.
    failed = apply(
        site,
        {
            "tls": {
                "mode": "files",
                "certificate": f"{OWN}/cert.pem",
                "key": f"{OWN}/key.pem",
            }
        },
        check=False,
    )
    assert failed.returncode != 0
    assert f"[tls] mode = files: {OWN}/cert.pem does not exist" in failed.stderr
    assert fetch(site, f"https://{HOST}/", "-k")[0] == 200  # still served
    site.run(f"cp {OWN}/new-1.pem {OWN}/cert.pem && cp {OWN}/new-1.key {OWN}/key.pem")
    out = apply(site, {}).stdout
    assert f"nginx reloads when {OWN}/cert.pem or {OWN}/key.pem change" in out
    trust = ("--cacert", f"{OWN}/ca.pem")
    assert served_fingerprint(site) == file_fingerprint(site, f"{OWN}/new-1.pem")
    check_https(site, *trust)

    # A renewal replaces both files (as acme.sh or a config manager would).
    site.run(MAKE_PAIR.format(n=2))
    renewed = file_fingerprint(site, f"{OWN}/new-2.pem")
    started = time.monotonic()
    site.run(f"cp {OWN}/new-2.pem {OWN}/cert.pem && cp {OWN}/new-2.key {OWN}/key.pem")
    while served_fingerprint(site) != renewed:
        assert time.monotonic() - started < 20, "nginx still serves the old pair"
        time.sleep(0.5)
    report("renewed files served after", f"{time.monotonic() - started:.1f} s")
    assert fetch(site, f"https://{HOST}/", *trust)[0] == 200


def test_acme_gets_and_renews_a_certificate_through_ublogs_nginx(site):
    server = acme.start_pebble(site, HOST)
    report("Pebble answered after", f"{server.start_seconds:.1f} s")
    try:
        started = time.monotonic()
        out = apply(
            site,
            {
                "ublog": {"host_name": HOST, "admins": "admin@example.test"},
                "tls": {"mode": "acme", "acme_server": server.directory},
            },
            env=server.env,
        ).stdout
        report(
            "certificate from the ACME server in", f"{time.monotonic() - started:.1f} s"
        )
        assert f"got a certificate for {HOST} from {server.directory}" in out
        assert "stopped watching certificate files" in out
        live = "/etc/letsencrypt/live/ublog"
        assert served_fingerprint(site) == file_fingerprint(site, f"{live}/cert.pem")
        root = server.save_root()
        check_https(site, "--cacert", root)
        # setup again: the certificate is there, nobody asks the server.
        again = apply(site, {}, env=server.env).stdout
        assert "got a certificate" not in again
        # Renewal (certbot.timer's command, forced): nginx serves the new one.
        before = served_fingerprint(site)
        site.run(
            ["certbot", "renew", "--force-renewal", "--no-random-sleep-on-renew"],
            env=server.env,
        )
        renewed = file_fingerprint(site, f"{live}/cert.pem")
        assert renewed != before
        assert served_fingerprint(site) == renewed
        assert fetch(site, f"https://{HOST}/", "--cacert", root)[0] == 200
    finally:
        server.stop()


def test_back_to_plain_http(site):
    apply(site, {"tls": {"mode": "off"}, "ublog": {"host_name": ""}})
    assert wait_for_200(site).status == 200
    assert site.run(["curl", "-sk", f"https://{HOST}/"], check=False).returncode == 7
