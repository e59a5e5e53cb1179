"""Abuse against the installed site, as a flood would come: from the host,
over HTTP through nginx, 32 clients at once (threads released together),
each scenario from client addresses of its own (IPv4 and IPv6 addresses
added to the testbed's link, see support.clients).

The site runs its default limits, except those the defaults set too high
for a short test (``LIMITS``); its counters are the database cache (the
default). Checked, for every write path:

* exactly as many requests get through as the limit says, and no more: the
  rest are answered 429 with Retry-After, and the view did not run (rows
  counted in PostgreSQL);
* other addresses are unaffected; two addresses of one IPv6 /64 share a
  limit, an address of another /64 does not;
* nginx sheds floods before gunicorn: a tight nginx limit answers its own
  429 page (``X-Ublog-Shed: nginx``) and Django never sees those requests;
  concurrent requests over ``nginx_connections`` are refused at once;
* moderation: with ``anonymous_posts = moderated`` an anonymous post waits
  for a staff user, with ``closed`` it is refused;
* nothing answers 5xx, and the journal holds no traceback.

The same limits across two app hosts sharing memcached: test_cluster.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections import Counter

import pytest
from support.clients import ClientAddresses, race, wait_for_window, window_left
from support.db import django, psql
from support.figures import report
from support.httpclient import HttpSession, Response
from support.images import noise_png, png_bytes
from support.pagecache import watch_change
from support.site import IMAGE_ALT, PASSWORD, configured, login, wait_for_200

#: Limits lower than the defaults, so that a flood is short (the defaults of
#: the others: login 30/10m, login_per_user 10/10m, signup 10/h,
#: mail_per_recipient 3/h, anonymous_post 20/h; nginx 10r/s, burst 40).
LIMITS = {
    "user_post": "25/h",
    "image_post": "12/h",
    "upload_bytes": "100K",
    "like": "30/h",
    "edit": "20/h",
    "delete": "15/h",
}
CONFIGURED = {
    "login": 30,
    "login_per_user": 10,
    "signup": 10,
    "mail_per_recipient": 3,
    "anonymous_post": 20,
    "user_post": 25,
    "image_post": 12,
    "like": 30,
    "edit": 20,
    "delete": 15,
}
UPLOAD_BUDGET = 100 * 1024
WIDTH = 32  # concurrent clients
PASSED: dict[str, tuple[int, int]] = {}  # limit: (configured, got through)
STATUSES: Counter[int] = Counter()
SINCE: list[int] = []  # when the module started (the journal's part)


@pytest.fixture(scope="module")
def site(public_site):
    """The shared installed site, with :data:`LIMITS`, users of this module's
    own (carol, dave, frank: nobody else's counters fill up here) and a
    staff user."""
    django(
        public_site,
        "from django.contrib.auth.models import User\n"
        "for name in ('carol', 'dave'):\n"
        f"    User.objects.create_user(name, name + '@ex.org', {PASSWORD!r})\n"
        "from ublog_accounts import activation\n"
        "frank = User.objects.create_user('frank', 'frank@ex.org', 'x', "
        "is_active=False)\n"
        "activation.start(frank)\n"
        f"User.objects.create_superuser('mod', 'mod@ex.org', {PASSWORD!r})",
    )
    SINCE.append(int(time.time()))
    with configured(public_site, {"limits": LIMITS}) as tb:
        yield tb
    if PASSED:
        rows = "\n".join(
            f"  {name:<52} {limit:>3} configured, {passed:>3} through"
            for name, (limit, passed) in PASSED.items()
        )
        report("limits at 32-way concurrency, database cache", "\n" + rows)


@pytest.fixture(scope="module")
def clients(site):
    return ClientAddresses(site)


def count(tb, sql: str) -> int:
    return int(psql(tb, sql, "ublog"))


def posts(tb) -> int:
    return count(tb, "SELECT count(*) FROM ublog_posts_post")


def flood(
    name: str, jobs, expected: int | None = None, label: str = ""
) -> list[Response]:
    """Send ``jobs`` 32 at a time; check the refusals; record what got
    through against the limit ``name`` (exactly its configured value, or
    ``expected``), as ``name`` and ``label``."""
    answers = race(jobs, WIDTH)
    STATUSES.update(answer.status for answer in answers)
    assert not [a.status for a in answers if a.status >= 500], answers
    refused = [a for a in answers if a.status == 429]
    for answer in refused:
        assert int(answer.headers["Retry-After"]) >= 1
        assert "<h1>Too many" in answer.text
    passed = len(answers) - len(refused)
    limit = CONFIGURED[name] if expected is None else expected
    PASSED[f"{name} {label}".strip()] = (limit, passed)
    retry = sorted({a.headers.get("Retry-After") for a in refused})
    assert passed == limit, (Counter(a.status for a in answers), retry)
    return answers


def sessions(clients, addresses: list[str], total: int, form: str) -> list:
    """``total`` sessions spread over ``addresses``, each with the CSRF
    cookie of ``form`` (GETs are not limited)."""
    made = []
    for i in range(total):
        web = clients.session(addresses[i % len(addresses)])
        web.get(form)
        made.append(web)
    return made


def wrong_login(web: HttpSession, path: str, username: str):
    return lambda: web.post_form(path, {"username": username, "password": "wrong"})


def test_wrong_logins_per_address(site, clients):
    """The issue's measurement: 150 wrong passwords from one address."""
    (address,) = clients.ipv4(period=600)
    webs = sessions(clients, [address], 150, "/accounts/login/")
    jobs = [wrong_login(web, "/accounts/login/", uuid.uuid4().hex) for web in webs]
    answers = flood("login", jobs)
    assert {a.status for a in answers} == {200, 429}  # the form's own error
    # Another address is unaffected.
    (other,) = clients.ipv4()
    web = clients.session(other)
    web.get("/accounts/login/")
    assert (
        web.post_form("/accounts/login/", {"username": "x", "password": "y"})[0] == 200
    )


def test_admin_logins_per_address(site, clients):
    (address,) = clients.ipv4(period=600)
    webs = sessions(clients, [address], 100, "/admin/login/")
    jobs = [wrong_login(web, "/admin/login/", uuid.uuid4().hex) for web in webs]
    answers = flood("login", jobs, label="(/admin/login/)")
    assert {a.status for a in answers} == {200, 429}


def test_wrong_logins_per_username_from_many_addresses(site, clients):
    """Ten addresses, four tries each at dave's password, on the site's form
    and the admin's: one counter for dave."""
    addresses = clients.ipv4(10)
    webs = sessions(clients, addresses, 40, "/accounts/login/")
    wait_for_window("username:dave", 600)
    for web in webs[1::2]:
        web.get("/admin/login/")
    jobs = [
        wrong_login(web, "/admin/login/" if i % 2 else "/accounts/login/", "dave")
        for i, web in enumerate(webs)
    ]
    flood("login_per_user", jobs)
    # Carol, from one of those addresses, is not dave.
    web = clients.session(addresses[0])
    assert login(web, "carol", PASSWORD).status == 302


def signup_fields(email: str) -> dict:
    name = "u" + uuid.uuid4().hex[:12]
    return {"username": name, "email": email, "password1": PASSWORD,
            "password2": PASSWORD}  # fmt: skip


def test_signups_per_address(site, clients):
    users = count(site, "SELECT count(*) FROM auth_user")
    (address,) = clients.ipv4(period=3600)
    webs = sessions(clients, [address], 30, "/accounts/signup/")
    jobs = [
        (
            lambda web=web: web.post_form(
                "/accounts/signup/",
                signup_fields(f"{uuid.uuid4().hex}@ex.org"),
                follow=False,
            )
        )  # fmt: skip
        for web in webs
    ]
    answers = flood("signup", jobs)
    assert {a.status for a in answers} == {302, 429}
    assert count(site, "SELECT count(*) FROM auth_user") == users + 10


@pytest.mark.parametrize(
    "path, fields",
    [
        ("/accounts/password/reset/", {"email": "dave@ex.org"}),
        ("/accounts/resend/", {"email": "FRANK@ex.org"}),
        ("/accounts/signup/", None),
    ],
    ids=["password-reset", "resend-activation", "signup"],
)
def test_mail_per_recipient_from_many_addresses(site, clients, path, fields):
    """Twelve requests naming one recipient, from four addresses (three
    each: under the per-address limit): three mails at most."""
    outbox = count(site, "SELECT count(*) FROM mailer_message")
    webs = sessions(clients, clients.ipv4(4), 12, path)
    recipient = f"{uuid.uuid4().hex}@ex.org"
    while window_left(f"email:{recipient}", 3600) < 60:
        recipient = f"{uuid.uuid4().hex}@ex.org"
    if fields:
        wait_for_window(f"email:{fields['email'].casefold()}", 3600)
    jobs = [
        (
            lambda web=web: web.post_form(
                path, fields or signup_fields(recipient), follow=False
            )
        )  # fmt: skip
        for web in webs
    ]
    flood("mail_per_recipient", jobs, label=f"({path})")
    # Never more mail than the limit lets through.
    assert count(site, "SELECT count(*) FROM mailer_message") <= outbox + 3


def anonymous_post(web: HttpSession, text: str, image: bytes | None = None):
    files = {"image": ("p.png", image, "image/png")} if image else {}
    return lambda: web.post_multipart(
        "/new/", {"text": text, "image_alt": IMAGE_ALT}, files
    )


def test_anonymous_posts_per_address(site, clients):
    """The issue's measurement: 100 anonymous posts from one address."""
    before = posts(site)
    (address,) = clients.ipv4(period=3600)
    webs = sessions(clients, [address], 100, "/new/")
    answers = flood("anonymous_post", [anonymous_post(w, "flood") for w in webs])
    assert {a.status for a in answers} == {302, 429}
    assert posts(site) == before + 20


def test_one_ipv6_64_shares_a_limit(site, clients):
    before = posts(site)
    subnet = clients.ipv6_subnet(3600)
    one, two = clients.ipv6(subnet, 0xA), clients.ipv6(subnet, 0xB)
    webs = sessions(clients, [one, two], 40, "/new/")
    jobs = [anonymous_post(w, "from a /64") for w in webs]
    flood("anonymous_post", jobs, label="(two addresses of one /64)")
    assert posts(site) == before + 20
    # The next /64 is someone else.
    other = clients.session(clients.ipv6(clients.ipv6_subnet(3600, subnet), 0xA))
    other.get("/new/")
    assert anonymous_post(other, "next door")().status == 302
    log = site.run("tail -n 200 /var/log/nginx/access.log").stdout
    assert re.search(rf"^{re.escape(one)} .*POST /new/ .* 302 ", log, re.M), log


def test_posts_with_images_per_address(site, clients):
    before = posts(site)
    (address,) = clients.ipv4(period=3600)
    webs = sessions(clients, [address], 30, "/new/")
    jobs = [anonymous_post(w, "with an image", png_bytes()) for w in webs]
    flood("image_post", jobs)
    assert posts(site) == before + 12


def test_the_daily_upload_budget(site, clients):
    """Images of one size: as many as fit the budget, and no more; a post
    without an image still goes through."""
    image = noise_png(96, 96)
    fit = UPLOAD_BUDGET // len(image)
    assert 1 < fit < CONFIGURED["image_post"]
    media = site.run("du -sb /var/lib/ublog/media").stdout.split()[0]
    (address,) = clients.ipv4(period=3600)
    if 86400 - time.time() % 86400 < 60:  # the budget's day ends at 00:00 UTC
        time.sleep(61)
    webs = sessions(clients, [address], 12, "/new/")
    jobs = [anonymous_post(w, "big", image) for w in webs]
    flood("upload_bytes", jobs, fit, f"(100K a day, images of {len(image)} B)")
    grown = int(site.run("du -sb /var/lib/ublog/media").stdout.split()[0]) - int(media)
    # Each image stored with its thumbnail, as large as the image for a
    # picture this small: no more than the images that fit.
    assert grown < (fit + 1) * 2 * len(image)
    assert anonymous_post(webs[0], "text only")().status == 302


def carol(site, clients) -> HttpSession:
    """Carol, signed in from an address of her own, with an hour's window
    of her own counters ahead."""
    (address,) = clients.ipv4()
    web = clients.session(address)
    login(web, "carol", PASSWORD)
    pk = count(site, "SELECT id FROM auth_user WHERE username = 'carol'")
    wait_for_window(f"user:{pk}", 3600)
    return web


def carols_posts(site, number: int) -> list[int]:
    out = django(
        site,
        "from django.contrib.auth.models import User\n"
        "from ublog_posts.models import Post\n"
        "carol = User.objects.get(username='carol')\n"
        f"made = [Post.objects.create(owner=carol, text='mine') "
        f"for _ in range({number})]\n"
        "print(' '.join(str(p.pk) for p in made))",
    )
    return [int(pk) for pk in out.split()]


def test_posts_of_a_signed_in_user(site, clients):
    web = carol(site, clients)
    web.get("/new/")
    before = posts(site)
    flood("user_post", [anonymous_post(web, "carol's") for _ in range(40)])
    assert posts(site) == before + 25


def test_likes_edits_and_deletes_per_user(site, clients):
    """Each flood from an address of its own (nginx's burst is per address)."""
    web = carol(site, clients)
    pk, *mine = carols_posts(site, 26)
    web.get(f"/{pk}/")
    like = [
        (
            lambda: web.post_form(
                f"/{pk}/like/", {}, headers={"Accept": "application/json"}
            )
        )
        for _ in range(40)
    ]
    flood("like", like)

    web = carol(site, clients)
    web.get(f"/{pk}/edit/")
    edit = [
        (lambda i=i: web.post_multipart(f"/{pk}/edit/", {"text": f"edit {i}"}, {}))
        for i in range(30)
    ]
    answers = flood("edit", edit)
    assert {a.status for a in answers} == {302, 429}

    web = carol(site, clients)
    web.get(f"/{pk}/")
    delete = [
        (lambda p=p: web.post_form(f"/{p}/delete/", {}, follow=False)) for p in mine
    ]
    flood("delete", delete)
    ids = ",".join(map(str, mine))
    left = count(site, f"SELECT count(*) FROM ublog_posts_post WHERE id IN ({ids})")
    assert left == len(mine) - 15


def test_a_client_cannot_forge_its_address(site, clients):
    """X-Forwarded-For from a client is not believed: 40 logins, each
    claiming another address, share one counter."""
    (address,) = clients.ipv4(period=600)
    webs = sessions(clients, [address], 40, "/accounts/login/")
    jobs = [
        (lambda web=web, i=i: web.post_form(
            "/accounts/login/", {"username": uuid.uuid4().hex, "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{i}",
                     "X-Real-IP": f"203.0.113.{i}"}))
        for i, web in enumerate(webs)
    ]  # fmt: skip
    flood("login", jobs, label="(forged X-Forwarded-For)")


def slow_request(address: str, source: str) -> socket.socket:
    """A POST whose body never ends: nginx holds it (reading the body)."""
    conn = socket.create_connection(
        (address, 80), timeout=30, source_address=(source, 0)
    )
    conn.sendall(
        f"POST /new/ HTTP/1.1\r\nHost: {address}\r\nContent-Length: 1000\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\ntext=".encode()
    )
    return conn


def test_nginx_sheds_a_flood_before_gunicorn(site, clients):
    tight = {
        "nginx_post_rate": "2r/s",
        "nginx_post_burst": "5",
        "nginx_connections": "4",
    }
    with configured(site, {"limits": tight}):
        zones = site.run(["cat", "/etc/ublog/nginx.d/limits.http"]).stdout
        assert "rate=2r/s" in zones
        before = posts(site)
        (address,) = clients.ipv4()
        webs = sessions(clients, [address], 40, "/new/")
        started = time.monotonic()
        answers = race([anonymous_post(w, "shed") for w in webs], WIDTH)
        elapsed = time.monotonic() - started
        STATUSES.update(a.status for a in answers)
        shed = [a for a in answers if a.headers.get("X-Ublog-Shed") == "nginx"]
        through = [a for a in answers if a.status == 302]
        assert len(shed) + len(through) == len(answers), Counter(
            a.status for a in answers
        )
        assert 1 <= len(through) <= 6 + 2 * elapsed + 1
        for answer in shed:
            assert answer.status == 429
            assert answer.headers["Retry-After"] == "1"
            assert "<h1>Too many" in answer.text
        # Only what nginx let through reached Django.
        assert posts(site) == before + len(through)
        report(
            "nginx shedding (2r/s, burst 5)",
            f"{len(through)} of 40 POSTs through in {elapsed:.1f} s",
        )

        # Four requests in progress from one address: the fifth is refused at once.
        (slow_source,) = clients.ipv4()
        held = [slow_request(site.address, slow_source) for _ in range(4)]
        try:
            time.sleep(0.5)
            web = clients.session(slow_source)
            refused = web.get("/")
            assert refused.status == 429 and refused.headers["X-Ublog-Shed"] == "nginx"
            (elsewhere,) = clients.ipv4()
            assert clients.session(elsewhere).get("/").status == 200
        finally:
            for conn in held:
                conn.close()
        time.sleep(0.5)
        assert wait_for_200(clients.session(slow_source)).status == 200


def test_moderated_and_closed_anonymous_posting(site, clients):
    (address,) = clients.ipv4()
    with configured(site, {"posts": {"anonymous_posts": "moderated"}}):
        web = clients.session(address)
        web.get("/new/")
        text = f"waits for a moderator {uuid.uuid4().hex}"
        assert anonymous_post(web, text)().status == 302
        assert text not in web.get("/").text
        status = psql(
            site, f"SELECT status FROM ublog_posts_post WHERE text = '{text}'", "ublog"
        )
        assert status == "pending"
        pk = int(
            psql(
                site, f"SELECT id FROM ublog_posts_post WHERE text = '{text}'", "ublog"
            )
        )
        mod = clients.session(address)
        mod.get("/admin/login/")
        mod.post_form("/admin/login/", {"username": "mod", "password": PASSWORD,
                                         "next": "/admin/"})  # fmt: skip
        changelist = "/admin/ublog_posts/post/"
        mod.get(changelist)
        done = mod.post_form(
            changelist, {"action": "publish_selected", "_selected_action": str(pk)}
        )
        assert done.status == 200, done.text[:2000]
        # Anonymous visitors see it within a second (nginx's micro-cache).
        readers = {"site": clients.session(address)}
        watch_change(readers, "/", lambda page: text in page.text, time.monotonic())
    with configured(site, {"posts": {"anonymous_posts": "closed"}}):
        web = clients.session(address)
        before = posts(site)
        web.get("/new/")
        refused = anonymous_post(web, "closed")()
        assert refused.status in (302, 403), refused.status
        assert posts(site) == before


def test_nothing_answered_5xx_and_no_traceback(site):
    assert STATUSES and not [s for s in STATUSES if s >= 500], STATUSES
    journal = site.run(
        f"journalctl -u ublog.service --since @{SINCE[0]} -o cat --no-pager"
    ).stdout
    assert "Internal Server Error" not in journal, journal[-5000:]
    report("statuses of the floods", dict(sorted(STATUSES.items())))


def test_an_insert_from_the_version_before_still_works(site):
    """During an upgrade the old workers insert posts without the columns
    moderation added: PostgreSQL fills them in."""
    row = psql(
        site,
        "INSERT INTO ublog_posts_post (text, image, created, modified) "
        "VALUES ('old code', '', now(), now()) RETURNING status, poster_session",
        "ublog",
    )
    assert row.splitlines()[0] == "published|"
