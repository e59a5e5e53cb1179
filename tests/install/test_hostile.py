"""Hostile input and a hostile environment, against the site installed from
the .deb in a booted Debian 12 (systemd-nspawn, its own network namespace).

One installation serves every test of this module:

* bad input over HTTP (uploads, CSRF, other people's posts, activation links,
  query strings, non-UTF-8 bodies, raw malformed requests): each answered with
  a 4xx or a form error, never a 5xx, and the database and media unchanged
  where nothing may change;
* a full disk under the media directory (a real, tiny tmpfs): the user gets
  an error, no row and no file (not even a partial one) is left;
* the service's sandbox: inside gunicorn's own mount namespace, even root
  cannot write outside /var/lib/ublog/media;
* `manage.py check --deploy` of the packaged configuration behind TLS;
* sign-in and sign-up rate limits per client address, as configured.

Run with -s to see the table of cases and their outcomes.
"""

import os
import re
import secrets
import socket
import uuid
import zlib
from collections import Counter

import pytest
from test_browser import install_ublog
from test_deb import multipart, png_bytes, psql, report, wait_for_200
from testbed import Testbed

PASSWORD = "correct horse battery 9"
NON_UTF8_LOGIN = b"username=\xff\xfe\xfd&password=\xc3"
MEDIA = "/var/lib/ublog/media"


def noise_png(width: int, height: int) -> bytes:
    """A real PNG of random pixels: it does not compress, so its size is
    about width * height * 3 bytes."""

    def chunk(kind, data):
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\0\0\0"
    rows = b"".join(b"\0" + os.urandom(width * 3) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def django(tb, code: str) -> str:
    """Run Python in the installed site's Django (as the service user); the
    last line it printed (Django 5.2's shell first reports its imports)."""
    out = tb.run(["ublog-ctl", "shell", "-c", code]).stdout.strip()
    return out.splitlines()[-1] if out else ""


def state(tb) -> dict:
    """What must not change when a request is refused."""
    row = psql(
        tb,
        "SELECT (SELECT count(*) FROM ublog_posts_post), "
        "(SELECT string_agg(md5(text || coalesce(image, '')), ',' ORDER BY id) "
        " FROM ublog_posts_post), "
        "(SELECT count(*) FROM ublog_posts_like), "
        "(SELECT count(*) FROM auth_user), "
        "(SELECT count(*) FROM auth_user WHERE is_active)",
        "ublog",
    )
    media = tb.run(f"cd {MEDIA} && find . -type f | sort | xargs -r md5sum").stdout
    return {"rows": row, "media": media}


def raw_request(tb, data: bytes) -> int:
    """Send bytes as they are (no client library fixes them); return the
    status code of the answer."""
    with socket.create_connection((tb.address, 80), timeout=30) as conn:
        conn.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            piece = conn.recv(4096)
            if not piece:
                break
            answer += piece
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    assert match, f"no HTTP answer to {data[:80]!r}: {answer[:200]!r}"
    return int(match[1])


class Cases:
    """Sends one hostile request per case, checks its outcome, tallies."""

    def __init__(self, tb):
        self.tb = tb
        self.outcomes: list[tuple[str, int]] = []

    def check(self, name, response, statuses, must_say=None):
        status = response if isinstance(response, int) else response.status
        self.outcomes.append((name, status))
        text = "" if isinstance(response, int) else response.text
        assert status < 500, f"{name}: {status}\n{text[:3000]}"
        assert status in statuses, f"{name}: {status} not in {statuses}\n{text[:2000]}"
        if must_say:
            assert re.search(must_say, text), f"{name}: no {must_say!r}\n{text[:2000]}"
        return response

    def upload(self, name, web, text, files, statuses, must_say=None):
        body, ctype = multipart(
            {"csrfmiddlewaretoken": web.cookie("csrftoken") or "", "text": text},
            files,
        )
        headers = {"Content-Type": ctype, "Referer": self.tb.url + "/new/"}
        response = web.request("/new/", "POST", body, headers, follow=False)
        return self.check(name, response, statuses, must_say)

    def table(self) -> str:
        tally = Counter(status for _, status in self.outcomes)
        lines = [f"  {status:>3}  {name}" for name, status in self.outcomes]
        summary = ", ".join(f"{n} x {s}" for s, n in sorted(tally.items()))
        return f"{len(self.outcomes)} cases ({summary})\n" + "\n".join(lines)


@pytest.fixture(scope="module")
def site(ublog_root, tmp_path_factory):
    """ublog installed and serving, with alice and bob (active) and eve
    (signed up, not yet active)."""
    from conftest import _letters
    from testbed import PREFIX

    name = f"{PREFIX}{os.getpid()}{next(_letters)}"
    with Testbed(
        tarball=ublog_root, name=name, workdir=tmp_path_factory.mktemp("hostile")
    ) as tb:
        install_ublog(tb)
        django(
            tb,
            "from django.contrib.auth.models import User\n"
            f"for n in ('alice', 'bob'): User.objects.create_user(n, n + '@ex.org', "
            f"{PASSWORD!r})\n"
            "from ublog_accounts import activation\n"
            "eve = User.objects.create_user('eve', 'eve@ex.org', 'x', "
            "is_active=False)\n"
            "activation.start(eve)",
        )
        yield tb


def login(tb, username):
    web = tb.session()
    web.get("/accounts/login/")
    done = web.post_form(
        "/accounts/login/",
        {"username": username, "password": PASSWORD},
        follow=False,
    )
    assert done.status == 302, done.text[:1000]
    return web


def create_post(tb, web, text, image=None):
    web.get("/new/")
    files = {"image": ("p.png", image, "image/png")} if image else {}
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


def test_a_full_disk_leaves_no_row_and_no_file(site):
    tb = site
    uid = tb.run(["id", "-u", "ublog"]).stdout.strip()
    before = state(tb)
    # 96 KiB of media space; the image is three times that.
    tb.run(f"mount -t tmpfs -o size=96k,mode=0755,uid={uid},gid={uid} full {MEDIA}")
    try:
        tb.run(["systemctl", "restart", "ublog.service"])
        web = tb.session()
        web.get("/new/")
        image = noise_png(320, 320)
        assert len(image) > 3 * 96 * 1024 * 0.9
        body, ctype = multipart(
            {"csrfmiddlewaretoken": web.cookie("csrftoken"), "text": "no room"},
            {"image": ("big.png", image, "image/png")},
        )
        response = web.request(
            "/new/", "POST", body, {"Content-Type": ctype, "Referer": tb.url + "/new/"}
        )
        assert response.status == 507, response.text[:2000]
        assert "out of disk space" in response.text
        assert "no room" in response.text  # the form keeps what was typed
        left = tb.run(f"find {MEDIA} -mindepth 1 -type f").stdout
        assert left == "", f"files left on the full disk: {left}"
        journal = tb.run("journalctl -u ublog.service -o cat --no-pager").stdout
        assert "Upload not stored: [Errno 28] No space left on device" in journal
    finally:
        tb.run(f"umount {MEDIA}")
        tb.run(["systemctl", "restart", "ublog.service"])
    assert state(tb) == before
    # With room again, the same upload works.
    pk = create_post(tb, tb.session(), "room again", noise_png(160, 120))
    assert tb.http(f"/{pk}/").status == 200


def test_the_service_cannot_write_outside_its_media(site):
    tb = site
    assert wait_for_200(tb).status == 200  # socket activation: gunicorn runs
    pid = tb.run(["systemctl", "show", "-P", "MainPID", "ublog.service"]).stdout
    pid = pid.strip()
    assert pid not in ("", "0")
    enter = ["nsenter", "-t", pid, "-m", "--"]
    tried = {}
    for path in (
        "/etc/ublog",
        "/etc",
        "/opt/venvs/ublog/bin",
        "/opt/venvs/ublog/lib/python3.11/site-packages/ublog_site",
        "/usr/bin",
        "/var/lib/ublog",
        "/var/lib/ublog/static",
        "/var/lib/postgresql",
        "/var/log",
        "/etc/nginx/sites-enabled",
    ):
        # As root, in gunicorn's own mount namespace: read-only regardless
        # of file permissions.
        target = f"{path}/ublog-sandbox-{uuid.uuid4().hex[:6]}"
        result = tb.run([*enter, "touch", target], check=False)
        tried[path] = result.stderr.strip()
        assert result.returncode != 0, f"{path} is writable for the service"
        assert "Read-only file system" in result.stderr, result.stderr
        assert tb.run(["test", "-e", target], check=False).returncode == 1
    for path in ("/root", "/home", "/var/backups/ublog"):
        result = tb.run([*enter, "ls", path], check=False)
        tried[path] = result.stderr.strip() or result.stdout.strip()
        assert result.stdout.strip() == "", f"{path} is visible: {result.stdout}"
    # Its media directory is writable, by the service user.
    as_ublog = [*enter, "setpriv", "--reuid=ublog", "--regid=ublog", "--clear-groups"]
    probe = f"{MEDIA}/.sandbox-probe"
    tb.run([*as_ublog, "touch", probe])
    tb.run(["rm", probe])
    # Its /tmp is its own.
    tb.run([*as_ublog, "sh", "-c", "echo mine > /tmp/ublog-private"])
    assert tb.run(["test", "-e", "/tmp/ublog-private"], check=False).returncode == 1
    report("sandbox: refused writes", len(tried))


def test_check_deploy_is_clean_behind_tls(site):
    tb = site
    http_only = tb.run(["ublog-ctl", "check"], check=False)
    # Plain HTTP: exactly the four documented relaxations, nothing else.
    found = set(
        re.findall(r"\((security\.W\d+)\)", http_only.stdout + http_only.stderr)
    )
    assert found == {
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    }, http_only.stdout + http_only.stderr
    behind_tls = tb.run(["env", "UBLOG_HTTPS=true", "ublog-ctl", "check"])
    out = behind_tls.stdout + behind_tls.stderr
    assert "System check identified no issues (1 silenced)." in out, out
    # The configuration's secrets: readable by root and the service only.
    modes = tb.run(["stat", "-c", "%a %U %G", "/etc/ublog/ublog.conf"]).stdout
    assert modes.split() == ["640", "root", "ublog"]
    other = tb.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        + ["cat", "/etc/ublog/ublog.conf"],
        check=False,
    )
    assert other.returncode != 0 and "Permission denied" in other.stderr


def test_bad_input_over_http_is_refused_and_changes_nothing(site):
    tb = site
    cases = Cases(tb)
    alice, bob = login(tb, "alice"), login(tb, "bob")
    alices = create_post(tb, alice, "alice's post", png_bytes())
    anonymous_post = create_post(tb, tb.session(), "an anonymous post")
    anon = tb.session()
    anon.get("/new/")
    before = state(tb)

    # --- uploads -------------------------------------------------------------
    form_error = [200]
    cases.upload(
        "text file named .png",
        anon,
        "x",
        {"image": ("notes.png", b"just some text\n" * 50, "image/png")},
        form_error,
        "Upload a valid image",
    )
    cases.upload(
        "PNG header + HTML polyglot",
        anon,
        "x",
        {
            "image": (
                "poly.png",
                b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
                "image/png",
            )
        },
        form_error,
        "Upload a valid image",
    )
    cases.upload(
        "image over the 5 MiB limit (under nginx's 6m)",
        anon,
        "x",
        {"image": ("big.png", png_bytes() + b"\0" * (5 * 1024 * 1024), "image/png")},
        form_error,
        "The image is too large",
    )
    cases.upload(
        "body over nginx's client_max_body_size",
        anon,
        "x",
        {"image": ("huge.png", b"\0" * (7 * 1024 * 1024), "image/png")},
        [413],
    )
    cases.upload(
        "BMP (not an allowed format)",
        anon,
        "x",
        {"image": ("x.bmp", b"BM" + b"\0" * 60, "image/bmp")},
        form_error,
        "not an image|not accepted",
    )
    cases.upload(
        "text over 1000 characters",
        anon,
        "x" * 1001,
        {},
        form_error,
        "at most 1000 characters",
    )
    cases.upload("empty text", anon, "", {}, form_error, "This field is required")
    cases.upload("NUL in text", anon, "a\0b", {}, form_error, "Null characters")
    cases.upload("no CSRF token", tb.session(), "x", {}, [403])
    forged = tb.session()
    forged.cookies.clear()
    body, ctype = multipart({"csrfmiddlewaretoken": secrets.token_hex(32)}, {})
    cases.check(
        "forged CSRF token and cookie",
        forged.request(
            "/new/",
            "POST",
            body,
            {
                "Content-Type": ctype,
                "Cookie": f"csrftoken={secrets.token_hex(16)}",
                "Referer": tb.url + "/new/",
            },
        ),
        [403],
    )

    # --- other people's posts ---------------------------------------------------
    for who, web in (("bob", bob), ("anonymous", tb.session())):
        expected = [403] if who == "bob" else [302]
        for path in (f"/{alices}/edit/", f"/{alices}/delete/"):
            web.get("/new/")  # sets the CSRF cookie
            cases.check(f"{who} GET {path}", web.get(path, follow=False), expected)
            cases.check(
                f"{who} POST {path}",
                web.post_form(path, {"text": "mine now"}, follow=False),
                expected,
            )
    cases.check(
        "bob POST edit of an anonymous post",
        bob.post_form(f"/{anonymous_post}/edit/", {"text": "mine"}, follow=False),
        [403],
    )
    for method in ("PUT", "DELETE", "PATCH"):
        cases.check(
            f"{method} on a post",
            alice.request(f"/{alices}/edit/", method, b"", follow=False),
            [403, 405],
        )
    for next_url in ("https://evil.example/", "//evil.example/"):
        bob.get("/new/")  # sets the CSRF cookie
        liked = cases.check(
            f"like with next={next_url} (no open redirect)",
            bob.post_form(f"/{alices}/like/", {"next": next_url}, follow=False),
            [302],
        )
        assert liked.headers["Location"] == f"/{alices}/", liked.headers
    assert state(tb) == before  # the like and the unlike cancel out

    # --- query strings and paths --------------------------------------------------
    for query in (
        "page=abc",
        "page=0",
        "page=-1",
        "page=99999",
        "page=1e9",
        "page=%00",
        "page=1&page=2",
        "q=%ff%fe%fd",
        "q=%00",
        "q=" + "%C3%A9" * 1000,
        "q=%",
        "q=%%%",
        "q[]=x&q[]=y",
    ):
        # 414: gunicorn's request-line limit (4094 bytes).
        cases.check(f"/?{query[:40]}", tb.http(f"/?{query}"), [200, 404, 414])
    for path in ("/999999/", "/abc/", "/999999/like/", "/%2e%2e/%2e%2e/etc/passwd"):
        cases.check(f"GET {path}", tb.http(path), [400, 404, 405])
    sent = cases.check(
        "GET like with an off-site next",
        tb.session().get(f"/{alices}/like/?next=//evil.example/", follow=False),
        [302],
    )
    assert sent.headers["Location"] == f"/accounts/login/?next=/{alices}/"
    cases.check(
        "media path traversal",
        tb.http("/media/../../../etc/ublog/ublog.conf"),
        [400, 403, 404],
    )
    cases.check("static dotdot", tb.http("/static/..%2f..%2fetc/passwd"), [400, 404])

    # --- activation links ---------------------------------------------------------
    valid = django(
        tb,
        "from django.contrib.auth.models import User\n"
        "from ublog_accounts.activation import make_activation_key\n"
        "print(make_activation_key(User.objects.get(username='eve')))",
    )
    expired = django(
        tb,
        "import time\n"
        "from django.core import signing\n"
        "from ublog_accounts.activation import SALT\n"
        "from django.contrib.auth.models import User\n"
        "eve = User.objects.get(username='eve')\n"
        "class Old(signing.TimestampSigner):\n"
        "    def timestamp(self):\n"
        "        return signing.b62_encode(int(time.time()) - 30 * 86400)\n"
        "print(Old(salt=SALT).sign_object([str(eve.pk), "
        "eve.pending_activation.nonce]))",
    )
    nobody = django(
        tb,
        "from django.core import signing\n"
        "from ublog_accounts.activation import SALT\n"
        "print(signing.dumps(['999999999', 'x'], salt=SALT))",
    )
    # The first version's keys signed only the username: never again.
    username_only = django(
        tb,
        "from django.core import signing\n"
        "from ublog_accounts.activation import SALT\n"
        "print(signing.dumps('eve', salt=SALT))",
    )
    tampered = valid[:-3] + ("aaa" if not valid.endswith("aaa") else "bbb")
    other_salt = django(
        tb, "from django.core import signing\nprint(signing.dumps('eve'))"
    )
    web = tb.session()
    for label, key, must_say in (
        ("tampered key", tampered, "invalid"),
        ("expired key", expired, "expired"),
        ("key for a user who does not exist", nobody, "no longer exists"),
        ("key of the username alone (old format)", username_only, "invalid"),
        ("key signed with another salt", other_salt, "invalid"),
        ("garbage key", "not-a-key", "invalid"),
    ):
        web.get("/new/")  # sets the CSRF cookie
        for method in ("GET", "POST"):
            path = f"/accounts/activate/{key}/"
            response = (
                web.get(path)
                if method == "GET"
                else web.post_form(path, {}, follow=False)
            )
            cases.check(f"{method} {label}", response, [400], must_say)
    assert state(tb) == before  # eve is still inactive
    web.get(f"/accounts/activate/{valid}/")
    cases.check(
        "POST valid key",
        web.post_form(f"/accounts/activate/{valid}/", {}, follow=False),
        [302],
    )
    cases.check(
        "POST valid key replayed",
        web.post_form(f"/accounts/activate/{valid}/", {}, follow=False),
        [200],
        "already",
    )
    after_activation = state(tb)
    assert after_activation["rows"].split("|")[-1] == str(
        int(before["rows"].split("|")[-1]) + 1
    )
    # An admin deactivates eve: her old (still valid) link must not undo it.
    django(
        tb,
        "from django.contrib.auth.models import User\n"
        "User.objects.filter(username='eve').update(is_active=False)",
    )
    deactivated = state(tb)
    cases.check(
        "POST valid key after the account was deactivated",
        web.post_form(f"/accounts/activate/{valid}/", {}, follow=False),
        [400],
        "can no longer be used",
    )
    assert state(tb) == deactivated
    django(
        tb,
        "from django.contrib.auth.models import User\n"
        "User.objects.filter(username='eve').update(is_active=True)",
    )
    assert state(tb) == after_activation

    # --- bodies, headers, raw requests ------------------------------------------------
    anon.get("/new/")
    token = anon.cookie("csrftoken")
    cases.check(
        "multipart with a broken boundary",
        anon.request(
            "/new/",
            "POST",
            b"--nope\r\ngarbage",
            {
                "Content-Type": "multipart/form-data; boundary=other",
                "X-CSRFToken": token,
            },
            follow=False,
        ),
        [200, 400, 403],
    )
    cases.check(
        "multipart without a boundary",
        anon.request(
            "/new/",
            "POST",
            b"x",
            {"Content-Type": "multipart/form-data", "X-CSRFToken": token},
            follow=False,
        ),
        [200, 400, 403],
    )
    cases.check(
        "urlencoded body with an unknown charset",
        anon.request(
            "/new/",
            "POST",
            f"csrfmiddlewaretoken={token}&text=".encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded; charset=nonsense",
                "Referer": tb.url + "/new/",
            },
            follow=False,
        ),
        [200],
        "This field is required",
    )
    cases.check(
        "login with a non-UTF-8 body",
        raw_request(
            tb,
            b"POST /accounts/login/ HTTP/1.1\r\nHost: %s\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (tb.address.encode(), len(NON_UTF8_LOGIN), NON_UTF8_LOGIN),
        ),
        [403],  # no CSRF cookie: refused before the body matters
    )
    cases.check(
        "sign-in form with a non-UTF-8 username",
        anon.request(
            "/accounts/login/",
            "POST",
            f"csrfmiddlewaretoken={token}&username=".encode() + b"\xff\xfe&password=x",
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": tb.url + "/accounts/login/",
            },
            follow=False,
        ),
        [200],
        "correct username and password",
    )
    cases.check(
        "unknown Host header",
        raw_request(
            tb, b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        ),
        [400],
    )
    cases.check(
        "non-UTF-8 bytes in the path",
        raw_request(
            tb,
            b"GET /\xff\xfe/ HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
            % tb.address.encode(),
        ),
        [400, 404],
    )
    cases.check(
        "a 20 kB request line",
        raw_request(
            tb,
            b"GET /?q=%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
            % (b"a" * 20000, tb.address.encode()),
        ),
        [400, 414],
    )
    cases.check(
        "garbage instead of HTTP",
        raw_request(tb, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
        [400],
    )
    assert state(tb) == after_activation

    journal = tb.run("journalctl -u ublog.service -o cat --no-pager").stdout
    assert "Internal Server Error" not in journal, journal[-5000:]
    # Foreign Host headers are answered 400 without a traceback (nor a mail).
    assert "DisallowedHost" not in journal, journal[-5000:]
    report("bad-input cases over HTTP", cases.table())


def test_sign_in_and_sign_up_are_rate_limited_per_address(site):
    tb = site
    conf = "/etc/ublog/ublog.conf"
    tb.run(
        ["sed", "-i", r"/^\[accounts\]$/a login_rate = 3/10m\nsignup_rate = 2/h", conf]
    )
    tb.run(["systemctl", "restart", "ublog.service"])
    assert wait_for_200(tb).status == 200
    # The earlier tests logged in from this address: start from zero.
    django(tb, "from django.core.cache import cache; cache.clear()")
    web = tb.session()
    statuses = []
    for _ in range(5):
        web.get("/accounts/login/")
        statuses.append(
            web.post_form(
                "/accounts/login/", {"username": "alice", "password": "wrong"}
            ).status
        )
    assert statuses == [200, 200, 200, 429, 429], statuses
    users = state(tb)["rows"]
    statuses = []
    for _ in range(3):
        web.get("/accounts/signup/")
        statuses.append(
            web.post_form(
                "/accounts/signup/",
                {
                    "username": "",
                    "email": "not an address",
                    "password1": "x",
                    "password2": "y",
                },
            ).status
        )
    assert statuses == [200, 200, 429], statuses
    assert state(tb)["rows"] == users
    # The limit is per address: a client inside the container (127.0.0.1,
    # as nginx tells gunicorn) still gets the form's own answer.
    inside = tb.run(["/opt/venvs/ublog/bin/python", "-c", LOGIN_FROM_LOCALHOST])
    assert inside.stdout.strip() == "200", inside.stdout


LOGIN_FROM_LOCALHOST = """
import http.cookiejar, urllib.parse, urllib.request
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(jar)
)
web.open("http://localhost/accounts/login/").read()
token = next(c.value for c in jar if c.name == "csrftoken")
data = urllib.parse.urlencode(
    {"csrfmiddlewaretoken": token, "username": "alice", "password": "wrong"}
).encode()
request = urllib.request.Request(
    "http://localhost/accounts/login/",
    data,
    {"Referer": "http://localhost/accounts/login/"},
)
try:
    print(web.open(request).status)
except urllib.error.HTTPError as error:
    print(error.code)
"""
