"""`apt install ublog` on a clean, booted Debian of every release, checked
from the host.

The release's .deb goes into a local apt repository inside a systemd-nspawn
container (its own network namespace, no route out; the dependencies' .debs
are prefetched into the cached base root). apt installs it with nothing else
typed; then, over HTTP from the host: the site answers through nginx, an
anonymous post made by a real multipart form POST (with CSRF) shows on the
list, static files and the uploaded image come from nginx. Both services'
`systemd-analyze security` exposure is at most 2.0. Then remove (data
kept: a reinstall shows the old post) and purge (answered yes to
ublog/purge_data: nothing left).

Figures (install time, time to the first 200, installed size, the
systemd-analyze security scores) are printed: run with -s to see them.
"""

import email
import re
import time
import uuid
from email import policy

import pytest
from support.db import psql
from support.debconf import purge_deletes_data
from support.figures import report
from support.images import png_bytes, png_size
from support.localrepo import add_repo, apt
from support.site import image_src, login, new_post, wait_for_200
from support.testbed import Testbed
from support.units import MAX_EXPOSURE, exposure, state
from ublog_build.releases import RELEASES

RECORD_CHECK = """
import base64, hashlib, importlib.metadata, pathlib
stale = []
for dist in importlib.metadata.distributions():
    for file in dist.files or []:
        if file.hash:
            data = pathlib.Path(file.locate()).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
            if digest.rstrip(b"=").decode() != file.hash.value:
                stale.append(str(file))
print(len(stale), "stale", *stale)
"""
#: The hardened services, each at most MAX_EXPOSURE.
SERVICES = ("ublog.service", "ublog-mailer.service")


NEWCOMER = "carla"
NEWCOMER_PASSWORD = "a long and uncommon passphrase 7"


def mail_with_no_mail_server(tb, release):
    """A sign-up while no mail server listens (the recommended MTA stopped,
    as on a host installed without it): the visitor gets the "check your
    mail" page, the mail waits in the outbox, and once the MTA runs it
    reaches the local mailbox with a working activation link, no restart."""
    tb.run(["systemctl", "stop", "exim4"])
    refused = tb.run(
        ["/opt/venvs/ublog/bin/python", "-c",
         "import socket; socket.create_connection(('localhost', 25), 5)"],
        check=False,
    )  # fmt: skip
    assert "ConnectionRefusedError" in refused.stderr, refused.stderr
    tb.run(["useradd", "--create-home", NEWCOMER])  # a local mailbox owner
    web = tb.session()
    assert web.get("/accounts/signup/").status == 200
    signed_up = web.post_form(
        "/accounts/signup/",
        {
            "username": NEWCOMER,
            "email": f"{NEWCOMER}@localhost",
            "password1": NEWCOMER_PASSWORD,
            "password2": NEWCOMER_PASSWORD,
        },
    )
    assert signed_up.status == 200, signed_up.text[:3000]
    assert "Check your e-mail" in signed_up.text
    is_active = f"SELECT is_active FROM auth_user WHERE username = '{NEWCOMER}'"
    assert psql(tb, is_active, "ublog") == "f"
    # The sender tried, the server did not answer: the outbox says so.
    deadline = time.monotonic() + 30
    while True:
        status = tb.run(["ublog-ctl", "status"], check=False)
        if "1 to retry" in status.stdout or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert status.returncode == 3, status.stdout + status.stderr
    assert re.search(r"mail: +0 waiting, 1 to retry \(oldest queued \d+ (s|min) ago",
                     status.stdout), status.stdout  # fmt: skip
    assert (
        "delivery: SMTP localhost:25: NOT ANSWERING: the server does not answer: "
        "Connection refused" in status.stdout
    ), status.stdout
    journal = tb.run(["journalctl", "-u", "ublog-mailer", "--no-pager"]).stdout
    assert "not delivered (attempt 1 of 20)" in journal, journal[-3000:]
    check = tb.run(["ublog-ctl", "check"], check=False)
    assert "ublog_site.W002" in check.stderr, check.stdout + check.stderr

    # The MTA starts: the mail arrives, without restarting anything.
    tb.run(["systemctl", "start", "exim4"])
    started = time.monotonic()
    mailbox = f"/var/mail/{NEWCOMER}"
    while tb.run(["test", "-s", mailbox], check=False).returncode:
        assert time.monotonic() - started < 60, tb.run(
            ["journalctl", "-u", "ublog-mailer", "--no-pager"]
        ).stdout[-3000:]
        time.sleep(0.5)
    report(f"{release}: MTA started to the mail in the mailbox",
           f"{time.monotonic() - started:.1f} s")  # fmt: skip
    text = tb.run(["cat", mailbox]).stdout
    message = email.message_from_string(text.split("\n", 1)[1], policy=policy.default)
    assert message["To"] == f"{NEWCOMER}@localhost"
    body = message.get_body(("plain",)).get_content()
    link = re.search(rf"{re.escape(tb.url)}(/accounts/activate/\S+/)", body)
    assert link, body
    assert "Activate your account" in web.get(link[1]).text
    assert "Account activated" in web.post_form(link[1], {}).text
    assert psql(tb, is_active, "ublog") == "t"
    login(web, NEWCOMER, NEWCOMER_PASSWORD)
    assert f'class="site-user">{NEWCOMER}<' in web.get("/").text
    status = tb.run(["ublog-ctl", "status"], check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "mail:     outbox empty, 0 failed" in status.stdout


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.codename)
def test_apt_install_serves_the_site_and_remove_purge_follow_policy(
    release, release_deb, roots, bed_args
):
    deb = release_deb(release)
    name = release.codename
    report(f"{name}: .deb size", f"{deb.stat().st_size / 1e6:.1f} MB ({deb.name})")
    with Testbed(tarball=roots(release), **bed_args) as tb:
        # A local apt repository holding only the .deb.
        add_repo(tb, deb)

        # --- install, with nothing else typed ---------------------------------
        started = time.monotonic()
        out = apt(tb, "install", "ublog")
        installed = time.monotonic() - started
        assert "ublog-ctl setup: done" in out.stdout, out.stdout[-3000:]
        first = wait_for_200(tb)
        to_first_200 = time.monotonic() - started
        report(f"{name}: apt-get install ublog", f"{installed:.1f} s")
        report(
            f"{name}: apt-get install to the first HTTP 200", f"{to_first_200:.1f} s"
        )
        size = tb.run("du -sk /opt/venvs/ublog").stdout.split()[0]
        report(f"{name}: installed venv size", f"{int(size) / 1024:.1f} MiB")

        assert first.status == 200, first.text[:2000]
        assert first.headers["Server"].startswith("nginx")
        assert "μblog" in first.text
        for unit in ("ublog.socket", "ublog.service", "nginx", "postgresql"):
            assert state(tb, unit) == "active", unit
        assert tb.run(["systemctl", "is-enabled", "ublog.service"]).stdout.strip() == (
            "enabled"
        )

        # The configuration: 0640 root:ublog, with a generated secret.
        mode = tb.run(["stat", "-c", "%a %U %G", "/etc/ublog/ublog.conf"]).stdout
        assert mode.split() == ["640", "root", "ublog"]
        conf = tb.run(["cat", "/etc/ublog/ublog.conf"]).stdout
        secret = re.search(r"^secret_key = (\S{50,})$", conf, re.M)
        assert secret, "no generated secret_key in /etc/ublog/ublog.conf"
        assert tb.address in re.search(r"^allowed_hosts = (.*)$", conf, re.M)[1]
        # No password anywhere: peer authentication over the local socket.
        assert "password" not in re.sub(r"(?m)^#.*$", "", conf)
        assert tb.run(["id", "-u", "ublog"]).returncode == 0
        # Every installed file matches its RECORD entry (no stale hashes after
        # the shebang rewrite, no normalized files).
        stale = tb.run(["/opt/venvs/ublog/bin/python", "-c", RECORD_CHECK]).stdout
        assert stale.strip() == "0 stale", stale
        status = tb.run(["ublog-ctl", "status"]).stdout
        assert "reachable, migrated" in status and "ublog.service active" in status
        assert "ublog-mailer.service active" in status, status
        assert "ublog-cleanup.timer active" in status, status
        assert "delivery: SMTP localhost:25: answers" in status, status

        mail_with_no_mail_server(tb, name)

        # --- an anonymous post with an image, through nginx and gunicorn ----
        web = tb.session()
        assert web.get("/new/").status == 200 and web.cookie("csrftoken")
        text = f"Hello from the install test {uuid.uuid4().hex[:8]}"
        created = new_post(web, text, png_bytes(), "../../etc/evil name.png")
        assert created.status == 302, created.text[:2000]
        listing = web.get("/").text
        assert text in listing
        image = image_src(listing)
        assert image, "the uploaded image is not on the list page"
        assert ".." not in image and "evil" not in image
        served = tb.http(image)
        assert served.status == 200
        assert served.headers["Content-Type"] == "image/png"
        # Re-encoded on upload: the same picture, never the uploaded bytes.
        assert png_size(served.body) == (3, 2)
        css = tb.http("/static/ublog_site/site.css")
        assert css.status == 200 and css.headers["Server"].startswith("nginx")
        assert css.headers["Content-Type"] == "text/css"
        # Without the CSRF token the POST is refused and nothing is stored.
        forged = tb.session().request("/new/", "POST", {"text": "forged"})
        assert forged.status == 403
        count = psql(tb, "SELECT count(*) FROM ublog_posts_post", "ublog")
        assert count == "1"
        # The apps' demo fixtures are for development: never on a site.
        demo = "SELECT count(*) FROM auth_user WHERE username LIKE 'demo-%'"
        assert psql(tb, demo, "ublog") == "0"

        # --- the services' sandboxes: exposure at most 2.0 ------------------
        for service in SERVICES:
            level, word = exposure(tb, service)
            report(f"{name}: systemd-analyze security {service}", f"{level} {word}")
            assert level <= MAX_EXPOSURE, f"{service}: exposure {level} {word}"

        # --- remove: service stopped, data kept --------------------------------
        apt(tb, "remove", "ublog")
        for unit in ("ublog.service", "ublog-mailer.service", "ublog-cleanup.timer"):
            assert state(tb, unit) in ("inactive", "unknown"), unit
        assert tb.run(["test", "-f", "/etc/ublog/ublog.conf"]).returncode == 0
        assert tb.run(["test", "-e", "/opt/venvs/ublog"], check=False).returncode
        assert psql(tb, "SELECT count(*) FROM ublog_posts_post", "ublog") == "1"
        media = tb.run("find /var/lib/ublog/media -type f | wc -l").stdout.strip()
        assert media == "2"  # the image and its thumbnail
        # nginx goes back to its own default page rather than a dead upstream.
        assert tb.http("/").status == 200
        assert (
            tb.run(["test", "-L", "/etc/nginx/sites-enabled/default"]).returncode == 0
        )

        # --- reinstall: the old post and the same secret are back -----------
        apt(tb, "install", "ublog")
        assert text in wait_for_200(tb).text
        assert secret[0] in tb.run(["cat", "/etc/ublog/ublog.conf"]).stdout

        # --- purge, answered yes to ublog/purge_data: nothing left ------------
        purge_deletes_data(tb)
        apt(tb, "purge", "ublog")
        assert psql(tb, "SELECT count(*) FROM pg_database WHERE datname='ublog'") == "0"
        assert psql(tb, "SELECT count(*) FROM pg_roles WHERE rolname='ublog'") == "0"
        for path in (
            "/etc/ublog",
            "/var/lib/ublog",
            "/var/backups/ublog",
            "/opt/venvs/ublog",
            "/etc/nginx/sites-enabled/ublog",
            "/etc/nginx/sites-available/ublog",
            "/run/ublog.sock",
        ):
            assert tb.run(["test", "-e", path], check=False).returncode, path
        assert tb.run(["getent", "passwd", "ublog"], check=False).returncode == 2
        assert tb.run(["getent", "group", "ublog"], check=False).returncode == 2
        assert tb.run("dpkg -l ublog | grep -c '^ii\\|^rc'", check=False).stdout in (
            "0\n",
            "",
        )
        assert "Welcome to nginx!" in tb.http("/").text
