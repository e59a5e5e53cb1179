"""The whole site under concurrent HTTP requests: gunicorn (4 worker
processes of 16 threads, as a packaged host runs it, minus nginx) on a
SQLite file and on PostgreSQL, 32 real clients at once per race. Behind
nginx the address comes from X-Forwarded-For (gunicorn sees loopback), so
the clients vary that header to be different addresses."""

import http.client
import io
import json
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from PIL import Image

from .conftest import _bin, free_port
from .races import N, figure, race

pytestmark = pytest.mark.live

LIMITS = {
    "login": 7,
    "login_per_user": 5,
    "signup": 6,
    "mail_per_recipient": 3,
    "anonymous_post": 8,
    "user_post": 9,
    "image_post": 4,
    "like": 10,
    "edit": 6,
    "delete": 5,
}
USERS = 40

SEED = """
import json
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from ublog_posts.models import Post
sessions = []
for i in range(%(users)d):
    user = get_user_model().objects.create_user(f"u{i}", f"u{i}@example.org")
    client = Client()
    client.force_login(user)
    sessions.append(client.cookies["sessionid"].value)
owner = get_user_model().objects.get(username="u0")
posts = [Post.objects.create(owner=owner, text=f"p{i}").pk for i in range(40)]
print(json.dumps({"sessions": sessions, "posts": posts}))
"""


def _image(noise: bool) -> bytes:
    size = (96, 96) if noise else (4, 4)
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    data = io.BytesIO()
    image.save(data, "PNG")
    return data.getvalue()


class Site:
    """A running site: HTTP helpers and SQL on its database."""

    def __init__(self, tmp_path, engine, database):
        self.engine, self.database = engine, database
        self.big = _image(noise=True)
        self.budget = len(self.big) * 5 // 2  # two big images a day
        rates = "".join(f"{name} = {n}/d\n" for name, n in LIMITS.items())
        config = tmp_path / "ublog.conf"
        (tmp_path / "data").mkdir()
        config.write_text(
            f"[ublog]\nsecret_key = {'s' * 60}\ndata_dir = {tmp_path}/data\n"
            "allowed_hosts = 127.0.0.1\n[email]\nbackend = file\n"
            f"[database]\n{database}\n[limits]\n{rates}"
            f"upload_bytes = {self.budget}\n"
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("UBLOG_")},
            "UBLOG_CONFIG": str(config),
            "UBLOG_CTL_USER": "root",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        prepared = subprocess.run(
            [_bin("ublog-ctl"), "preparedb"],
            env=self.env,
            capture_output=True,
            text=True,
        )
        assert prepared.returncode == 0, prepared.stderr
        self.env["DJANGO_SETTINGS_MODULE"] = "ublog_site.settings"
        seed = subprocess.run(
            [sys.executable, "-c", SEED % {"users": USERS}],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        self.seed = json.loads(seed.stdout.splitlines()[-1])
        self.port = free_port()
        self.server = subprocess.Popen(
            [_bin("gunicorn"), "--workers", "4", "--threads", "16"]
            + ["--bind", f"127.0.0.1:{self.port}", "ublog_site.wsgi"],
            env=self.env,
            **QUIET,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.csrf = self.get_csrf()
                break
            except OSError:
                if time.monotonic() > deadline or self.server.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.1)

    def get_csrf(self) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request("GET", "/accounts/login/")
        response = connection.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie")
        return cookie.split("csrftoken=")[1].split(";")[0]

    def post(self, path, data, address, session=None, image=None):
        """POST as the client at ``address``: (status, headers, body)."""
        headers = {
            "X-Forwarded-For": address,
            "X-CSRFToken": self.csrf,
            "Cookie": f"csrftoken={self.csrf}"
            + (f"; sessionid={session}" if session else ""),
        }
        if image is not None:
            data = {**data, "image_alt": "A picture"}
        if image is None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            boundary = "ublogboundary"
            parts = [
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"'
                f"\r\n\r\n{v}\r\n".encode()
                for k, v in data.items()
            ]
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                f'filename="a.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
                + image
                + b"\r\n"
            )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def sql(self, query):
        """The first column of the first row of ``query``."""
        code = (
            "import django; django.setup()\n"
            "from django.db import connection\n"
            "with connection.cursor() as c:\n"
            f"    c.execute({query!r}); print(c.fetchone()[0])\n"
        )
        return int(self.python(code))

    def python(self, code):
        """Run ``code`` with the site's settings; the last line it printed."""
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.splitlines()[-1]

    def stop(self):
        self.server.terminate()
        self.server.wait(timeout=30)


QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(f"live-{request.param}")
    if request.param == "sqlite":
        database = "engine = sqlite\n"
    else:
        server = request.getfixturevalue("postgresql")
        name = server.create_database("ublog_live")
        database = (
            f"engine = postgresql\nname = {name}\nhost = {server.host}\n"
            f"user = {server.user}\nconn_max_age = 0\n"
        )
    started = time.monotonic()
    running = Site(tmp_path, request.param, database)
    figure(
        f"live {request.param}: site set up in", f"{time.monotonic() - started:.1f} s"
    )
    yield running
    running.stop()


def passed(site, results, name, expected):
    """Check the race's outcome: only 2xx/3xx or 429 (with Retry-After and
    the HTML page); exactly ``expected`` not refused."""
    statuses = [status for status, _headers, _body in results]
    through = sum(status != 429 for status in statuses)
    figure(f"live {site.engine}: {name}: limit {expected}, {N} concurrent", through)
    for status, headers, body in results:
        assert status < 400 or status == 429, (status, body[:300])
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
            assert headers["Content-Type"].startswith("text/html")
            assert b"Too many attempts" in body
    assert through == expected, statuses
    return through


def login(path, username):
    return path, {"username": username, "password": "wrong"}


def test_login_per_address_with_the_admin_login(site):
    paths = ["/accounts/login/", "/admin/login/"]
    results = race(
        lambda i: site.post(*login(paths[i % 2], f"a{i}"), address="198.51.100.1")
    )
    passed(site, results, "login per address (site + admin)", LIMITS["login"])
    # Another address is not affected.
    status, _h, _b = site.post(*login(paths[0], "x1"), address="198.51.100.2")
    assert status == 200


def test_login_per_username_from_many_addresses(site):
    names = ["Victim", " victim", "VICTIM "]
    results = race(
        lambda i: site.post(
            *login("/accounts/login/", names[i % 3]), address=f"203.0.113.{i + 1}"
        )
    )
    passed(site, results, "login per username", LIMITS["login_per_user"])


def test_ipv6_addresses_count_per_64(site):
    results = race(
        lambda i: site.post(
            *login("/accounts/login/", f"six{i}"), address=f"2001:db8:5:5::{i + 1:x}"
        )
    )
    passed(site, results, "login per IPv6 /64", LIMITS["login"])
    status, _h, _b = site.post(*login("/admin/login/", "y"), address="2001:db8:5:6::1")
    assert status == 200


def test_signup_and_mail_per_recipient(site):
    results = race(
        lambda i: site.post("/accounts/signup/", {}, address="198.51.100.20")
    )
    passed(site, results, "signup per address", LIMITS["signup"])
    results = race(
        lambda i: site.post(
            "/accounts/password/reset/",
            {"email": "Target@example.org"},
            address=f"198.51.100.{100 + i}",
        )
    )
    passed(site, results, "mail per recipient", LIMITS["mail_per_recipient"])


def test_anonymous_posts(site):
    before = site.sql("SELECT COUNT(*) FROM ublog_posts_post")
    results = race(lambda i: site.post("/new/", {"text": f"anon {i}"}, "198.51.100.30"))
    passed(site, results, "anonymous posts", LIMITS["anonymous_post"])
    after = site.sql("SELECT COUNT(*) FROM ublog_posts_post")
    assert after - before == LIMITS["anonymous_post"]  # refused views did not run


def test_posts_of_one_user(site):
    session = site.seed["sessions"][1]
    before = site.sql("SELECT COUNT(*) FROM ublog_posts_post")
    results = race(
        lambda i: site.post("/new/", {"text": f"u1 {i}"}, f"192.0.2.{i + 1}", session)
    )
    passed(site, results, "posts of one user", LIMITS["user_post"])
    assert site.sql("SELECT COUNT(*) FROM ublog_posts_post") - before == 9


def test_image_posts_and_the_byte_budget(site):
    sessions = site.seed["sessions"][2:]
    small = _image(noise=False)
    results = race(
        lambda i: site.post(
            "/new/", {"text": f"img {i}"}, "198.51.100.40", sessions[i], small
        )
    )
    passed(site, results, "image posts per address", LIMITS["image_post"])
    # Big images from another address: the byte budget lets two through
    # (the image rate lets four), and the refused bytes are given back.
    results = race(
        lambda i: site.post(
            "/new/", {"text": f"big {i}"}, "198.51.100.41", sessions[i], site.big
        )
    )
    passed(site, results, "big images, byte budget 2.5 images", 2)
    counted = site.sql(
        "SELECT value FROM ublog_site_ratecounter "
        "WHERE key LIKE '%upload_bytes:198.51.100.41/32%'"
    )
    assert counted == 2 * len(site.big)


def test_likes_edits_and_deletes_of_one_user(site):
    owner = site.seed["sessions"][0]
    posts = site.seed["posts"]
    results = race(lambda i: site.post(f"/{posts[0]}/like/", {}, f"10.1.0.{i}", owner))
    passed(site, results, "likes", LIMITS["like"])
    results = race(
        lambda i: site.post(
            f"/{posts[1]}/edit/", {"text": f"edit {i}"}, f"10.2.0.{i}", owner
        )
    )
    passed(site, results, "edits", LIMITS["edit"])
    before = site.sql("SELECT COUNT(*) FROM ublog_posts_post")
    results = race(
        lambda i: site.post(f"/{posts[2 + i]}/delete/", {}, f"10.3.0.{i}", owner)
    )
    passed(site, results, "deletes", LIMITS["delete"])
    assert before - site.sql("SELECT COUNT(*) FROM ublog_posts_post") == 5


OLD_IMAGES = """
import io
import json
import django
django.setup()
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image
from ublog_posts.models import Post
exif = Image.Exif()
exif[0x010F] = "PhoneMaker"
posts = []
for i in range(%(count)d):
    data = io.BytesIO()
    Image.new("RGB", (900, 600), (i, 90, 160)).save(data, "JPEG", exif=exif.tobytes())
    post = Post(text=f"stored as uploaded {i}")
    post.image.save(f"old{i}.jpg", ContentFile(data.getvalue()), save=False)
    post.save()
    posts.append(post.pk)
print(json.dumps({"posts": posts, "media": str(settings.MEDIA_ROOT)}))
"""

STORED_FILES = """
import json
import django
django.setup()
from ublog_posts.models import Post
rows = Post.objects.exclude(image="").values_list("pk", "image", "thumbnail")
print(json.dumps(list(rows)))
"""


def test_processimages_on_three_hosts_at_once(site):
    """Three ``processimages`` at once, as when three hosts upgrade together:
    each old image is re-encoded once, every one gets a thumbnail, the old
    files (with their camera data) are gone, and the media directory holds
    exactly the files the database names."""
    count = 12
    seeded = json.loads(site.python(OLD_IMAGES % {"count": count}))
    started = time.monotonic()
    runs = [
        subprocess.Popen(
            [_bin("ublog-ctl"), "processimages"],
            env=site.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    figure(
        f"live {site.engine}: processimages, 3 at once, {count} old images",
        f"{time.monotonic() - started:.1f} s",
    )
    for run, (_out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    processed = [int(out.split()[1]) if out else 0 for out, _err in outputs]
    assert sum(processed) == count, processed
    rows = json.loads(site.python(STORED_FILES))
    assert all(thumbnail for _pk, _image, thumbnail in rows), rows
    assert {pk for pk, _image, _thumbnail in rows} >= set(seeded["posts"])
    media = Path(seeded["media"])
    on_disk = {
        str(path.relative_to(media)) for path in media.rglob("*") if path.is_file()
    }
    named = {name for _pk, image, thumbnail in rows for name in (image, thumbnail)}
    assert on_disk == named
    for name in named:
        assert b"PhoneMaker" not in (media / name).read_bytes(), name
