"""Hostile input and a hostile environment, against the site installed from
the .deb in a booted Debian of the oldest release (systemd-nspawn, its own
network namespace).

One installation serves every test of this module:

* a full disk under the media directory (a real, tiny tmpfs): the user gets
  an error, no row and no file (not even a partial one) is left;
* the service's sandbox: inside gunicorn's own mount namespace, even root
  cannot write outside /var/lib/ublog/media;
* `manage.py check --deploy` of the packaged configuration behind TLS;
* bad input over HTTP, one test per case of :data:`CASES` (uploads, CSRF,
  other people's posts, activation links, query strings, non-UTF-8 bodies,
  raw malformed requests): each answered with a 4xx or a form error, never a
  5xx, and the database and media unchanged where nothing may change; the
  service's journal holds no traceback afterwards;

Run with -s to see the table of cases and their outcomes.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from support.db import django, psql
from support.figures import report
from support.httpclient import HttpSession, Response, multipart, raw_request
from support.images import noise_png, png_bytes
from support.site import IMAGE_ALT, PASSWORD, login, new_post, publish, wait_for_200
from ublog_build.releases import RELEASES

#: The release installed (the oldest).
RELEASE = RELEASES[0]
NON_UTF8_LOGIN = b"username=\xff\xfe\xfd&password=\xc3"
MEDIA = "/var/lib/ublog/media"
SITE_PACKAGES = f"/opt/venvs/ublog/lib/python{RELEASE.python}/site-packages"
STATE_SQL = (
    "SELECT (SELECT count(*) FROM ublog_posts_post), "
    "(SELECT string_agg(md5(text || coalesce(image, '')), ',' ORDER BY id) "
    " FROM ublog_posts_post), "
    "(SELECT count(*) FROM ublog_posts_like), "
    "(SELECT count(*) FROM auth_user), "
    "(SELECT count(*) FROM auth_user WHERE is_active)"
)


def state(tb) -> dict:
    """What must not change when a request is refused."""
    posts, texts, likes, users, active = psql(tb, STATE_SQL, "ublog").split("|")
    media = tb.run(f"cd {MEDIA} && find . -type f | sort | xargs -r md5sum").stdout
    return {
        "posts": int(posts),
        "texts": texts,
        "likes": int(likes),
        "users": int(users),
        "active users": int(active),
        "media": media,
    }


@pytest.fixture(scope="module")
def site(public_site):
    return public_site


def logged_in(tb, username: str) -> HttpSession:
    web = tb.session()
    login(web, username, PASSWORD)
    return web


def test_a_full_disk_leaves_no_row_and_no_file(site):
    tb = site
    uid = tb.run(["id", "-u", "ublog"]).stdout.strip()
    before = state(tb)
    # 96 KiB of media space; the image is three times that.
    tb.run(f"mount -t tmpfs -o size=96k,mode=0755,uid={uid},gid={uid} full {MEDIA}")
    try:
        tb.run(["systemctl", "restart", "ublog.service"])
        image = noise_png(320, 320)
        assert len(image) > 3 * 96 * 1024 * 0.9
        response = new_post(tb.session(), "no room", image, "big.png")
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
    pk = publish(tb.session(), "room again", noise_png(160, 120))
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
        f"{SITE_PACKAGES}/ublog_site",
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
    assert "System check identified no issues (2 silenced)." in out, out
    # The configuration's secrets: readable by root and the service only.
    modes = tb.run(["stat", "-c", "%a %U %G", "/etc/ublog/ublog.conf"]).stdout
    assert modes.split() == ["640", "root", "ublog"]
    other = tb.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        + ["cat", "/etc/ublog/ublog.conf"],
        check=False,
    )
    assert other.returncode != 0 and "Permission denied" in other.stderr


# -- bad input over HTTP: the table ---------------------------------------------


class Hostile:
    """What the cases' requests use: the site, alice and bob logged in,
    alice's post and an anonymous one, and activation keys for eve."""

    def __init__(self, tb):
        self.tb = tb
        self.alice, self.bob = logged_in(tb, "alice"), logged_in(tb, "bob")
        self.alices = publish(self.alice, "alice's post", png_bytes())
        self.anonymous_post = publish(tb.session(), "an anonymous post")
        self.keys = activation_keys(tb)
        self.given = None  # what the running case's ``prepare`` made

    def anonymous(self) -> HttpSession:
        """A new visitor who has the new-post form (and so a CSRF cookie)."""
        web = self.tb.session()
        web.get("/new/")
        return web

    def raw(self, data: bytes) -> int:
        return raw_request(self.tb.address, data)


def activation_keys(tb) -> dict[str, str]:
    """Keys for eve's activation link: a valid one, and bad ones of every kind."""
    imports = (
        "from django.core import signing\n"
        "from django.contrib.auth.models import User\n"
        "from ublog_accounts.activation import SALT, make_activation_key\n"
    )
    valid = django(
        tb, imports + "print(make_activation_key(User.objects.get(username='eve')))"
    )
    expired = django(
        tb,
        imports + "import time\n"
        "eve = User.objects.get(username='eve')\n"
        "class Old(signing.TimestampSigner):\n"
        "    def timestamp(self):\n"
        "        return signing.b62_encode(int(time.time()) - 30 * 86400)\n"
        "print(Old(salt=SALT).sign_object([str(eve.pk), "
        "eve.pending_activation.nonce]))",
    )
    return {
        "tampered": valid[:-3] + ("aaa" if not valid.endswith("aaa") else "bbb"),
        "expired": expired,
        "nobody": django(
            tb, imports + "print(signing.dumps(['999999999', 'x'], salt=SALT))"
        ),
        # The first version's keys signed only the username: never again.
        "username-only": django(tb, imports + "print(signing.dumps('eve', salt=SALT))"),
        "other-salt": django(tb, imports + "print(signing.dumps('eve'))"),
        "garbage": "not-a-key",
    }


@pytest.fixture(scope="module")
def hostile(site) -> Hostile:
    return Hostile(site)


@dataclass(frozen=True)
class Case:
    """One hostile request and what must come of it."""

    id: str
    #: Sends the request: the response, or the status of a raw request.
    send: Callable[[Hostile], Response | int]
    #: The statuses allowed (never a 5xx).
    statuses: tuple[int, ...]
    #: A pattern the answer must contain.
    says: str | None = None
    #: What the request may change in :func:`state` (and by how much);
    #: everything else must stay as it was.
    changes: dict[str, int] = field(default_factory=dict)
    #: Runs before the state is taken; ``Hostile.given`` holds its result.
    prepare: Callable[[Hostile], object] | None = None
    #: More checks of the response (and undoing what they must undo).
    then: Callable[[Hostile, Response], None] | None = None


def upload(text: str, files: dict, csrf: bool = True):
    """A new post from an anonymous visitor (with the CSRF cookie or not)."""

    def send(h: Hostile) -> Response:
        web = h.anonymous() if csrf else h.tb.session()
        return web.post_multipart(
            "/new/", {"text": text, "image_alt": IMAGE_ALT}, files
        )

    return send


def image(name: str, content: bytes, ctype: str = "image/png") -> dict:
    return {"image": (name, content, ctype)}


def forged_csrf(h: Hostile) -> Response:
    body, ctype = multipart({"csrfmiddlewaretoken": secrets.token_hex(32)}, {})
    return h.tb.session().request(
        "/new/",
        "POST",
        body,
        {
            "Content-Type": ctype,
            "Cookie": f"csrftoken={secrets.token_hex(16)}",
            "Referer": h.tb.url + "/new/",
        },
    )


def others_post(who: str, method: str, action: str):
    """``who`` (bob or an anonymous visitor) tries to change alice's post."""

    def send(h: Hostile) -> Response:
        web = h.bob if who == "bob" else h.tb.session()
        web.get("/new/")  # the CSRF cookie
        path = f"/{h.alices}/{action}/"
        if method == "GET":
            return web.get(path, follow=False)
        return web.post_form(path, {"text": "mine now"}, follow=False)

    return send


def like_with_next(next_url: str):
    def send(h: Hostile) -> Response:
        h.bob.get("/new/")  # the CSRF cookie
        return h.bob.post_form(f"/{h.alices}/like/", {"next": next_url}, follow=False)

    return send


def back_to_the_post_then_undone(next_url: str):
    """No open redirect: back to the post; then the like is undone (the same
    request again, the same answer)."""

    def then(h: Hostile, liked: Response) -> None:
        assert liked.headers["Location"] == f"/{h.alices}/", liked.headers
        unliked = like_with_next(next_url)(h)
        assert unliked.status == 302, unliked.text[:1000]
        assert unliked.headers["Location"] == f"/{h.alices}/", unliked.headers

    return then


def to_the_login_page(h: Hostile, sent: Response) -> None:
    assert sent.headers["Location"] == f"/accounts/login/?next=/{h.alices}/"


def activate(method: str, key: str | None = None):
    """GET or POST an activation link with one of eve's keys (``key``), or
    with the key ``prepare`` made (``Hostile.given``)."""

    def send(h: Hostile) -> Response:
        path = f"/accounts/activate/{h.keys[key] if key else h.given}/"
        web = h.anonymous()
        if method == "GET":
            return web.get(path)
        return web.post_form(path, {}, follow=False)

    return send


def new_user(h: Hostile) -> tuple[str, str]:
    """A new user who signed up and was sent a link: the name and the key."""
    name = f"new{uuid.uuid4().hex[:8]}"
    key = django(
        h.tb,
        "from django.contrib.auth.models import User\n"
        "from ublog_accounts import activation\n"
        f"user = User.objects.create_user({name!r}, '{name}@ex.org', 'x', "
        "is_active=False)\n"
        "activation.start(user)\n"
        "print(activation.make_activation_key(user))",
    )
    return name, key


def pending_user(h: Hostile) -> str:
    """A new user, not active yet: the key of the link sent."""
    return new_user(h)[1]


def activated_user(h: Hostile, name_key: tuple[str, str] | None = None) -> str:
    """A new user who activated the account with the link: the key."""
    name, key = name_key or new_user(h)
    web = h.anonymous()
    web.get(f"/accounts/activate/{key}/")  # the form a click POSTs
    done = web.post_form(f"/accounts/activate/{key}/", {}, follow=False)
    assert done.status == 302, done.text[:1000]
    return key


def deactivated_user(h: Hostile) -> str:
    """A user an admin deactivated after the activation: the (valid) key."""
    name, key = new_user(h)
    activated_user(h, (name, key))
    django(
        h.tb,
        "from django.contrib.auth.models import User\n"
        f"User.objects.filter(username={name!r}).update(is_active=False)",
    )
    return key


def form_post(path: str, body: bytes, ctype: str, referer: bool = True):
    """A POST of ``body`` as is, from a visitor with a CSRF cookie; the token
    goes in the X-CSRFToken header, or in the body (``{token}``) with the
    Referer Django checks."""

    def send(h: Hostile) -> Response:
        web = h.anonymous()
        token = web.cookie("csrftoken")
        headers = {"Content-Type": ctype}
        if referer:
            headers["Referer"] = h.tb.url + path
        else:
            headers["X-CSRFToken"] = token
        data = body.replace(b"{token}", token.encode())
        return web.request(path, "POST", data, headers, follow=False)

    return send


def raw(template: bytes):
    """Bytes sent as they are; ``{host}`` becomes the site's address."""
    return lambda h: h.raw(template.replace(b"{host}", h.tb.address.encode()))


FORM_ERROR = (200,)  # the form again, with the error
QUERIES = {
    "page-abc": "page=abc",
    "page-0": "page=0",
    "page-negative": "page=-1",
    "page-99999": "page=99999",
    "page-1e9": "page=1e9",
    "page-nul": "page=%00",
    "page-twice": "page=1&page=2",
    "q-not-utf8": "q=%ff%fe%fd",
    "q-nul": "q=%00",
    "q-6000-bytes": "q=" + "%C3%A9" * 1000,
    "q-lone-percent": "q=%",
    "q-percents": "q=%%%",
    "q-array": "q[]=x&q[]=y",
}
PATHS = {
    "missing-post": "/999999/",
    "non-numeric-post": "/abc/",
    "like-of-missing-post": "/999999/like/",
    "encoded-dotdot": "/%2e%2e/%2e%2e/etc/passwd",
}
#: Eve's bad keys and what the page says of each.
BAD_KEYS = {
    "tampered": "invalid",
    "expired": "expired",
    "nobody": "no longer exists",  # a key for a user who does not exist
    "username-only": "invalid",  # the old format
    "other-salt": "invalid",
    "garbage": "invalid",
}

CASES = [
    # --- uploads ---------------------------------------------------------------
    Case(
        "upload-text-file-named-png",
        upload("x", image("notes.png", b"just some text\n" * 50)),
        FORM_ERROR,
        "Upload a valid image",
    ),
    Case(
        "upload-png-header-html-polyglot",
        upload(
            "x",
            image(
                "poly.png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>"
            ),
        ),
        FORM_ERROR,
        "Upload a valid image",
    ),
    Case(
        "upload-image-over-5-mib-under-nginx-limit",
        upload("x", image("big.png", png_bytes() + b"\0" * (5 * 1024 * 1024))),
        FORM_ERROR,
        "The image is too large",
    ),
    Case(
        "upload-body-over-nginx-client-max-body-size",
        upload("x", image("huge.png", b"\0" * (7 * 1024 * 1024))),
        (413,),
    ),
    Case(
        "upload-bmp",
        upload("x", image("x.bmp", b"BM" + b"\0" * 60, "image/bmp")),
        FORM_ERROR,
        "not an image|not accepted",
    ),
    Case(
        "text-over-1000-characters",
        upload("x" * 1001, {}),
        FORM_ERROR,
        "at most 1000 characters",
    ),
    Case("empty-text", upload("", {}), FORM_ERROR, "This field is required"),
    Case("nul-in-text", upload("a\0b", {}), FORM_ERROR, "Null characters"),
    Case("no-csrf-token", upload("x", {}, csrf=False), (403,)),
    Case("forged-csrf-token-and-cookie", forged_csrf, (403,)),
    # --- other people's posts ----------------------------------------------------
    *(
        Case(
            f"{who}-{method.lower()}-{action}-of-alices-post",
            others_post(who, method, action),
            (403,) if who == "bob" else (302,),  # anonymous: to the login page
        )
        for who in ("bob", "anonymous")
        for action in ("edit", "delete")
        for method in ("GET", "POST")
    ),
    Case(
        "bob-post-edit-of-an-anonymous-post",
        lambda h: h.bob.post_form(
            f"/{h.anonymous_post}/edit/", {"text": "mine"}, follow=False
        ),
        (403,),
    ),
    *(
        Case(
            f"{method.lower()}-on-a-post",
            lambda h, method=method: h.alice.request(
                f"/{h.alices}/edit/", method, b"", follow=False
            ),
            (403, 405),
        )
        for method in ("PUT", "DELETE", "PATCH")
    ),
    Case(
        "like-with-an-off-site-next",
        like_with_next("https://evil.example/"),
        (302,),
        then=back_to_the_post_then_undone("https://evil.example/"),
    ),
    Case(
        "like-with-a-protocol-relative-next",
        like_with_next("//evil.example/"),
        (302,),
        then=back_to_the_post_then_undone("//evil.example/"),
    ),
    # --- query strings and paths ---------------------------------------------------
    *(
        # 414: gunicorn's request-line limit (4094 bytes).
        Case(f"query-{name}", lambda h, q=query: h.tb.http(f"/?{q}"), (200, 404, 414))
        for name, query in QUERIES.items()
    ),
    *(
        Case(f"get-{name}", lambda h, p=path: h.tb.http(p), (400, 404, 405))
        for name, path in PATHS.items()
    ),
    Case(
        "get-like-with-an-off-site-next",
        lambda h: h.tb.session().get(
            f"/{h.alices}/like/?next=//evil.example/", follow=False
        ),
        (302,),
        then=to_the_login_page,
    ),
    Case(
        "media-path-traversal",
        lambda h: h.tb.http("/media/../../../etc/ublog/ublog.conf"),
        (400, 403, 404),
    ),
    Case(
        "static-encoded-dotdot",
        lambda h: h.tb.http("/static/..%2f..%2fetc/passwd"),
        (400, 404),
    ),
    # --- activation links ------------------------------------------------------------
    *(
        Case(f"{method.lower()}-{key}-key", activate(method, key), (400,), says)
        for key, says in BAD_KEYS.items()
        for method in ("GET", "POST")
    ),
    Case(
        "post-valid-key",
        activate("POST"),
        (302,),
        changes={"active users": 1},
        prepare=pending_user,
    ),
    Case(
        "post-valid-key-replayed",
        activate("POST"),
        (200,),
        "already",
        prepare=activated_user,
    ),
    # An admin deactivated the account: the old (still valid) link must not
    # undo it.
    Case(
        "post-valid-key-after-the-account-was-deactivated",
        activate("POST"),
        (400,),
        "can no longer be used",
        prepare=deactivated_user,
    ),
    # --- bodies, headers, raw requests ------------------------------------------------
    Case(
        "multipart-with-a-broken-boundary",
        form_post(
            "/new/",
            b"--nope\r\ngarbage",
            "multipart/form-data; boundary=other",
            referer=False,
        ),
        (200, 400, 403),
    ),
    Case(
        "multipart-without-a-boundary",
        form_post("/new/", b"x", "multipart/form-data", referer=False),
        (200, 400, 403),
    ),
    Case(
        "urlencoded-body-with-an-unknown-charset",
        form_post(
            "/new/",
            b"csrfmiddlewaretoken={token}&text=",
            "application/x-www-form-urlencoded; charset=nonsense",
        ),
        (200,),
        "This field is required",
    ),
    Case(
        "login-with-a-non-utf8-body",
        raw(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: {host}\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (len(NON_UTF8_LOGIN), NON_UTF8_LOGIN)
        ),
        (403,),  # no CSRF cookie: refused before the body matters
    ),
    Case(
        "sign-in-form-with-a-non-utf8-username",
        form_post(
            "/accounts/login/",
            b"csrfmiddlewaretoken={token}&username=\xff\xfe&password=x",
            "application/x-www-form-urlencoded",
        ),
        (200,),
        "correct username and password",
    ),
    Case(
        "unknown-host-header",
        raw(b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"),
        (400,),
    ),
    Case(
        "non-utf8-bytes-in-the-path",
        raw(b"GET /\xff\xfe/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        (400, 404),
    ),
    Case(
        "a-20-kb-request-line",
        raw(
            b"GET /?q=%s HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            % (b"a" * 20000)
        ),
        (400, 414),
    ),
    Case(
        "garbage-instead-of-http",
        raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
        (400,),
    ),
]

#: (case, status) of every case run, for the figure.
OUTCOMES: list[tuple[str, int]] = []


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_and_changes_nothing(hostile, case):
    tb = hostile.tb
    hostile.given = case.prepare(hostile) if case.prepare else None
    before = state(tb)
    response = case.send(hostile)
    status = response if isinstance(response, int) else response.status
    OUTCOMES.append((case.id, status))
    text = "" if isinstance(response, int) else response.text
    assert status < 500, f"{status}\n{text[:3000]}"
    assert status in case.statuses, f"{status} not in {case.statuses}\n{text[:2000]}"
    if case.says:
        assert re.search(case.says, text), f"no {case.says!r}\n{text[:2000]}"
    if case.then:
        case.then(hostile, response)
    expected = {**before, **{k: before[k] + n for k, n in case.changes.items()}}
    assert state(tb) == expected


def test_no_bad_input_left_a_traceback(site):
    """After the table: no error logged (nor mailed) for any of its requests."""
    journal = site.run("journalctl -u ublog.service -o cat --no-pager").stdout
    assert "Internal Server Error" not in journal, journal[-5000:]
    # Foreign Host headers are answered 400 without a traceback (nor a mail).
    assert "DisallowedHost" not in journal, journal[-5000:]
    tally = Counter(status for _, status in OUTCOMES)
    summary = ", ".join(f"{n} x {s}" for s, n in sorted(tally.items()))
    lines = "\n".join(f"  {status:>3}  {name}" for name, status in OUTCOMES)
    report("bad-input cases over HTTP", f"{len(OUTCOMES)} cases ({summary})\n{lines}")
