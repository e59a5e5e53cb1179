"""`apt install ublog` on a clean, booted Debian 12, checked from the host.

The .deb from dist/deb goes into a local apt repository inside a systemd-nspawn
container (its own network namespace, no route out; the dependencies' .debs
are prefetched into the cached base root). apt installs it with nothing else
typed; then, over HTTP from the host: the site answers through nginx, an
anonymous post made by a real multipart form POST (with CSRF) shows on the
list, static files and the uploaded image come from nginx. Then remove (data
kept: a reinstall shows the old post) and purge (nothing left).

Figures (install time, time to the first 200, installed size, the
systemd-analyze security score) are printed: run with -s to see them.
"""

import email
import io
import re
import subprocess
import time
import uuid
import zlib
from email import policy
from pathlib import Path

import pytest
from testbed import Testbed

ROOT = Path(__file__).resolve().parents[2]
DEB_DIR = ROOT / "dist" / "deb"
REPO = "/srv/ublog-repo"
LOCAL_LIST = "/etc/apt/sources.list.d/ublog-local.list"
# apt-get update of the local repository only (the mirror is unreachable).
APT_LOCAL = (
    f"-o Dir::Etc::sourcelist={LOCAL_LIST} -o Dir::Etc::sourceparts=- "
    "-o APT::Get::List-Cleanup=0"
)


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


def report(label, value):
    print(f"\n[figure] {label}: {value}", flush=True)


RELEASES = {"bookworm": 12, "trixie": 13}


def the_deb(release: str = "bookworm") -> Path:
    """The ublog .deb built for ``release`` (scripts/build-release-debs)."""
    debs = sorted(DEB_DIR.glob(f"ublog_*+deb{RELEASES[release]}u*_amd64.deb"))
    if len(debs) != 1:
        pytest.fail(f"expected one {release} .deb in {DEB_DIR} (run `make`): {debs}")
    return debs[0]


def deb_version(deb: Path) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def deb_depends(deb: Path) -> list[str]:
    """The package names in the .deb's Depends and Recommends (version
    constraints dropped): what `apt-get install` installs by default."""
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Depends", "Recommends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    field = ",".join(
        line.split(":", 1)[1] if ":" in line else line for line in fields.splitlines()
    )
    names = {re.split(r"[\s(]", dep.strip())[0] for dep in field.split(",")}
    return sorted(n for n in names if n)


def png_bytes(width=3, height=2):
    """A real, tiny PNG (what Pillow will verify on upload)."""

    def chunk(kind, data):
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\0\0\0"
    rows = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(f"{value}\r\n".encode())
    for name, (filename, content, ctype) in files.items():
        out.write(f"--{boundary}\r\n".encode())
        out.write(
            f'Content-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def wait_for_200(tb, path="/", timeout=60):
    """The first 200 from the site (nginx's own welcome page, served until a
    reload after the setup takes effect, does not count)."""
    deadline = time.monotonic() + timeout
    while True:
        response = tb.http(path)
        ours = response.status == 200 and b"Welcome to nginx!" not in response.body
        if ours or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def psql(tb, sql, database="postgres"):
    return tb.run(
        ["runuser", "-u", "postgres", "--", "psql", "-XAtc", sql, database]
    ).stdout.strip()


def apt(tb, *args, timeout=600, recommends=True):
    """apt-get in the testbed; with Recommends, as Debian's default is (the
    base root turns them off for its own set-up)."""
    return tb.run(
        "apt-get -y -q -o Dpkg::Options::=--force-confdef "
        f"-o APT::Install-Recommends={str(recommends).lower()} " + " ".join(args),
        timeout=timeout,
    )


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
    web.get("/accounts/login/")
    logged_in = web.post_form(
        "/accounts/login/",
        {"username": NEWCOMER, "password": NEWCOMER_PASSWORD},
    )
    assert f'class="site-user">{NEWCOMER}<' in logged_in.text
    status = tb.run(["ublog-ctl", "status"], check=False)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "mail:     outbox empty, 0 failed" in status.stdout


@pytest.mark.parametrize("release", RELEASES)
def test_apt_install_serves_the_site_and_remove_purge_follow_policy(release, bed_args):
    from conftest import release_root

    deb = the_deb(release)
    report(f"{release}: .deb size", f"{deb.stat().st_size / 1e6:.1f} MB ({deb.name})")
    with Testbed(tarball=release_root(release), **bed_args) as tb:
        # A local apt repository holding only the .deb.
        tb.copy_in(deb, f"{REPO}/{deb.name}")
        tb.run(f"cd {REPO} && apt-ftparchive packages . > Packages")
        tb.run(f"echo 'deb [trusted=yes] file:{REPO} ./' > {LOCAL_LIST}")
        tb.run(f"apt-get update -q {APT_LOCAL}")

        # --- install, with nothing else typed ---------------------------------
        started = time.monotonic()
        out = apt(tb, "install", "ublog")
        installed = time.monotonic() - started
        assert "ublog-ctl setup: done" in out.stdout, out.stdout[-3000:]
        first = wait_for_200(tb)
        to_first_200 = time.monotonic() - started
        report(f"{release}: apt-get install ublog", f"{installed:.1f} s")
        report(
            f"{release}: apt-get install to the first HTTP 200", f"{to_first_200:.1f} s"
        )
        size = tb.run("du -sk /opt/venvs/ublog").stdout.split()[0]
        report(f"{release}: installed venv size", f"{int(size) / 1024:.1f} MiB")

        assert first.status == 200, first.text[:2000]
        assert first.headers["Server"].startswith("nginx")
        assert "μblog" in first.text
        for unit in ("ublog.socket", "ublog.service", "nginx", "postgresql"):
            state = tb.run(["systemctl", "is-active", unit], check=False).stdout
            assert state.strip() == "active", f"{unit}: {state}"
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

        mail_with_no_mail_server(tb, release)

        # --- an anonymous post with an image, through nginx and gunicorn ----
        web = tb.session()
        form = web.get("/new/")
        assert form.status == 200 and web.cookie("csrftoken")
        text = f"Hello from the install test {uuid.uuid4().hex[:8]}"
        body, ctype = multipart(
            {"csrfmiddlewaretoken": web.cookie("csrftoken"), "text": text},
            {"image": ("../../etc/evil name.png", png_bytes(), "image/png")},
        )
        created = web.request(
            "/new/",
            "POST",
            body,
            {"Content-Type": ctype, "Referer": tb.url + "/new/"},
            follow=False,
        )
        assert created.status == 302, created.text[:2000]
        listing = web.get("/").text
        assert text in listing
        image = re.search(r'src="(/media/ublog_posts/[^"]+\.png)"', listing)
        assert image, "the uploaded image is not on the list page"
        assert ".." not in image[1] and "evil" not in image[1]
        served = tb.http(image[1])
        assert served.status == 200
        assert served.headers["Content-Type"] == "image/png"
        assert served.body == png_bytes()
        css = tb.http("/static/ublog_site/site.css")
        assert css.status == 200 and css.headers["Server"].startswith("nginx")
        assert css.headers["Content-Type"] == "text/css"
        # Without the CSRF token the POST is refused and nothing is stored.
        forged = tb.session().request("/new/", "POST", {"text": "forged"})
        assert forged.status == 403
        count = psql(tb, "SELECT count(*) FROM ublog_posts_post", "ublog")
        assert count == "1"

        security = tb.run(["systemd-analyze", "security", "ublog.service"]).stdout
        score = re.search(r"Overall exposure level for ublog.service: (.*)", security)
        report(
            f"{release}: systemd-analyze security ublog.service",
            score[1] if score else "?",
        )

        # --- remove: service stopped, data kept --------------------------------
        apt(tb, "remove", "ublog")
        for unit in ("ublog.service", "ublog-mailer.service", "ublog-cleanup.timer"):
            state = tb.run(["systemctl", "is-active", unit], check=False)
            assert state.stdout.strip() in ("inactive", "unknown"), unit
        assert tb.run(["test", "-f", "/etc/ublog/ublog.conf"]).returncode == 0
        assert tb.run(["test", "-e", "/opt/venvs/ublog"], check=False).returncode
        assert psql(tb, "SELECT count(*) FROM ublog_posts_post", "ublog") == "1"
        media = tb.run("find /var/lib/ublog/media -type f | wc -l").stdout.strip()
        assert media == "1"
        # nginx goes back to its own default page rather than a dead upstream.
        assert tb.http("/").status == 200
        assert (
            tb.run(["test", "-L", "/etc/nginx/sites-enabled/default"]).returncode == 0
        )

        # --- reinstall: the old post and the same secret are back -----------
        apt(tb, "install", "ublog")
        assert text in wait_for_200(tb).text
        assert secret[0] in tb.run(["cat", "/etc/ublog/ublog.conf"]).stdout

        # --- purge: nothing left ------------------------------------------------
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
