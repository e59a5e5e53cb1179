"""The rate-limit rules, one request at a time through the real middleware
and the counters cache (no frozen clock: every limit here is per day, far
from a window's end). The concurrent cases are in test_counters.py and
test_live_races.py."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.cache.backends.base import CacheKeyWarning
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from ublog_posts.models import Post
from ublog_site.client import client_address
from ublog_site.config import ConfigError, load_config
from ublog_site.models import RateCounter

from .test_settings import build  # noqa: F401 (fixture)

DAY = 86400
SECRET = "k" * 60


@pytest.fixture(autouse=True)
def fresh_counters(db):
    caches["counters"].clear()


def limit(settings, **rates):
    """Only these limits (the others off)."""
    settings.UBLOG_LIMITS = rates


def login(client, username="nobody", path="/accounts/login/", **extra):
    return client.post(path, {"username": username, "password": "wrong"}, **extra)


def png(size=(4, 4)) -> SimpleUploadedFile:
    data = io.BytesIO()
    Image.new("RGB", size, "red").save(data, "PNG")
    return SimpleUploadedFile("a.png", data.getvalue(), "image/png")


def test_login_per_address_shared_with_the_admin_login(client, settings):
    limit(settings, login=(3, DAY))
    codes = [
        login(client, f"user{i}", path).status_code
        for i, path in enumerate(["/accounts/login/", "/admin/login/"] * 2)
    ]
    assert codes == [200, 200, 200, 429]
    refused = login(client, "someone")
    assert 0 < int(refused["Retry-After"]) <= DAY
    assert refused["Content-Type"].startswith("text/html")
    assert b"Too many attempts" in refused.content
    # GETs are never limited; another address has its own counter.
    assert client.get("/accounts/login/").status_code == 200
    assert login(client, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 200


def test_login_per_username_whatever_the_address(client, settings):
    limit(settings, login=(100, DAY), login_per_user=(2, DAY))
    for i, name in enumerate(["Alice", " alice ", "ALICE"]):
        response = login(client, name, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    assert response.status_code == 429
    assert login(client, "bob", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 200


def test_mail_views_count_each_on_its_own_and_per_recipient(client, settings):
    limit(settings, signup=(2, DAY), mail_per_recipient=(1, DAY))
    for path in ("/accounts/signup/", "/accounts/password/reset/"):
        assert client.post(path, {}).status_code == 200
        assert client.post(path, {}).status_code == 200
        assert client.post(path, {}).status_code == 429
    other = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    data = {"email": "Me@Example.org"}
    assert client.post("/accounts/password/reset/", data, **other).status_code == 302
    data = {"email": "me@example.org "}
    more = {"HTTP_X_FORWARDED_FOR": "203.0.113.8"}
    assert client.post("/accounts/password/reset/", data, **more).status_code == 429


def test_anonymous_posts_are_limited_per_address(client, settings):
    limit(settings, anonymous_post=(2, DAY))
    codes = [client.post("/new/", {"text": f"hi {i}"}).status_code for i in range(3)]
    assert codes == [302, 302, 429]
    assert Post.objects.count() == 2  # the refused view did not run


def test_user_posts_likes_edits_and_deletes_per_user(client, settings):
    limit(settings, user_post=(1, DAY), like=(1, DAY), edit=(1, DAY), delete=(1, DAY))
    user = get_user_model().objects.create_user("u", "u@example.org", "pw")
    client.force_login(user)
    assert client.post("/new/", {"text": "one"}).status_code == 302
    assert client.post("/new/", {"text": "two"}).status_code == 429
    post = Post.objects.get()
    other = Post.objects.create(owner=user, text="other")
    for action, data in (("like", {}), ("edit", {"text": "new"}), ("delete", {})):
        assert client.post(f"/{post.pk}/{action}/", data).status_code == 302
        assert client.post(f"/{other.pk}/{action}/", data).status_code == 429
    assert Post.objects.filter(pk=other.pk, text="other").exists()


def test_anonymous_likes_are_keyed_by_address(client, settings):
    limit(settings, like=(1, DAY))
    post = Post.objects.create(text="x")
    assert client.post(f"/{post.pk}/like/").status_code == 302  # to log in
    assert client.post(f"/{post.pk}/like/").status_code == 429


def test_image_posts_and_the_daily_byte_budget(client, settings):
    image = png()
    limit(settings, image_post=(3, DAY), upload_bytes=2 * image.size + 1)
    assert (
        client.post(
            "/new/", {"text": "a", "image": png(), "image_alt": "a"}
        ).status_code
        == 302
    )
    assert client.post("/new/", {"text": "b"}).status_code == 302  # no image
    # Over the byte budget: refused, and the bytes given back...
    big = png((64, 64))
    assert (
        client.post("/new/", {"text": "c", "image": big, "image_alt": "c"}).status_code
        == 429
    )
    # ... so a small one still fits (the refused one counted as an image
    # post, though); then the image rate is over.
    assert (
        client.post(
            "/new/", {"text": "d", "image": png(), "image_alt": "d"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/new/", {"text": "e", "image": png(), "image_alt": "e"}
        ).status_code
        == 429
    )
    assert sorted(Post.objects.values_list("text", flat=True)) == ["a", "b", "d"]


def test_ipv6_clients_count_per_64(client, settings):
    limit(settings, login=(2, DAY))

    def from_(address):
        return login(client, HTTP_X_FORWARDED_FOR=address).status_code

    assert from_("2001:db8:1:1::a") == 200
    assert from_("2001:db8:1:1:ffff::b") == 200
    assert from_("2001:db8:1:1::c") == 429
    assert from_("2001:db8:1:2::a") == 200
    settings.RATELIMIT_IPV6_MASK = 128
    assert from_("2001:db8:1:1::d") == 200


def test_a_client_cannot_forge_its_address(client, settings):
    limit(settings, login=(1, DAY))
    # Behind nginx (loopback): the last entry is the one nginx appended.
    for forged in ("1.1.1.1", "2.2.2.2"):
        response = login(client, HTTP_X_FORWARDED_FOR=f"{forged}, 198.51.100.7")
    assert response.status_code == 429
    # Straight from a non-loopback address: X-Forwarded-For is ignored.
    direct = {"REMOTE_ADDR": "192.0.2.4"}
    assert login(client, HTTP_X_FORWARDED_FOR="7.7.7.7", **direct).status_code == 200
    assert login(client, HTTP_X_FORWARDED_FOR="8.8.8.8", **direct).status_code == 429


def test_client_address(rf):
    def address(**meta):
        return client_address(rf.get("/", **meta))

    assert address(REMOTE_ADDR="192.0.2.4", HTTP_X_FORWARDED_FOR="6.6.6.6") == (
        "192.0.2.4"
    )
    assert address(REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.5") == (
        "192.0.2.5"
    )
    assert address(REMOTE_ADDR="127.0.0.2", HTTP_X_FORWARDED_FOR="::1") == "::1"
    assert address(REMOTE_ADDR="::1", HTTP_X_FORWARDED_FOR="junk") == "::1"
    assert address(REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="junk") == ""
    assert address(REMOTE_ADDR="127.0.0.1") == "127.0.0.1"
    assert address(REMOTE_ADDR="junk", HTTP_X_FORWARDED_FOR="6.6.6.6") == "junk"


def test_unknown_addresses_share_one_counter(rf):
    from ublog_site.limits import address_key

    request = rf.post("/", REMOTE_ADDR="")
    assert address_key(None, request) == "unknown"
    request = rf.post("/", REMOTE_ADDR="::ffff:192.0.2.9")
    assert address_key(None, request) == "192.0.2.9/32"


def test_limits_off_and_unknown_paths_pass(client, settings):
    limit(settings, login=None)
    for _ in range(5):
        assert login(client).status_code == 200
    assert client.post("/no/such/page/").status_code in (403, 404)


def test_the_packaged_defaults_apply(client):
    for _ in range(10):
        assert client.post("/accounts/signup/", {}).status_code == 200
    assert client.post("/accounts/signup/", {}).status_code == 429


# -- the counters cache ---------------------------------------------------------


def test_the_counters_cache_api():
    cache = caches["counters"]
    assert cache.add("a", 1, 60) is True
    assert cache.add("a", 5, 60) is False
    assert (cache.incr("a", 10), cache.decr("a", 3), cache.get("a")) == (11, 8, 8)
    assert cache.has_key("a") and not cache.has_key("b")
    assert cache.get("b", "none") == "none"
    with pytest.raises(ValueError, match="not found"):
        cache.incr("b")
    cache.set("b", 2, None)  # forever
    cache.set("b", 3, 60)
    assert cache.get("b") == 3
    assert cache.touch("b", 0) is True  # expires now
    assert cache.get("b") is None and cache.touch("b") is False
    assert cache.add("b", 4, 60) is True  # an expired key is taken over
    for value in ("1", 1.5, True, None):
        with pytest.raises(TypeError, match="integers only"):
            cache.set("c", value)
    with pytest.warns(CacheKeyWarning), pytest.raises(ValueError, match="250"):
        cache.get("x" * 250)
    assert cache.delete("a") is True and cache.delete("a") is False
    cache.clear()
    assert cache.get("b") is None


def test_cleanup_deletes_expired_counters(command_output):
    now = timezone.now()
    RateCounter.objects.create(key="old", value=1, expires=now)
    RateCounter.objects.create(key="live", value=1, expires=now + timezone.timedelta(1))
    with override_settings(UBLOG_ACCOUNTS_ACTIVATION_DAYS=7):
        out = command_output("cleanup")
    assert "deleted 1 expired rate-limit counters" in out
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["live"]
    assert "old = 1 until" in str(RateCounter(key="old", value=1, expires=now))


def test_counters_cache_follows_the_cache_backend(build):  # noqa: F811
    base = f"[ublog]\nsecret_key = {SECRET}\n"
    conf = build(base)
    assert conf["CACHES"]["counters"]["BACKEND"] == (
        "ublog_site.counters.DatabaseCounterCache"
    )
    assert conf["RATELIMIT_USE_CACHE"] == "counters"
    assert conf["RATELIMIT_IP_META_KEY"] == "ublog_site.client.client_address"
    assert (conf["RATELIMIT_IPV4_MASK"], conf["RATELIMIT_IPV6_MASK"]) == (32, 64)
    conf = build(base + "[cache]\nbackend = memcached\nlocation = m:11211\n")
    assert conf["CACHES"]["counters"] == conf["CACHES"]["default"]
    assert conf["UBLOG_POSTS_CLIENT_ADDRESS"] == "ublog_site.client.client_address"
    assert conf["UBLOG_POSTS_ANONYMOUS_POSTS"] == "open"


# -- configuration ----------------------------------------------------------------


def load(write_config, text):
    path = write_config(f"[ublog]\nsecret_key = {SECRET}\n{text}")
    return load_config({"UBLOG_CONFIG": str(path)})


def test_limits_defaults(write_config):
    conf = load(write_config, "")
    expected = {
        "login": (30, 600),
        "login_per_user": (10, 600),
        "signup": (10, 3600),
        "mail_per_recipient": (3, 3600),
        "anonymous_post": (20, 3600),
        "user_post": (60, 3600),
        "image_post": (20, 3600),
        "upload_bytes": 100 * 1024 * 1024,
        "like": (300, 3600),
        "edit": (60, 3600),
        "delete": (60, 3600),
        "ipv4_prefix": 32,
        "ipv6_prefix": 64,
        "nginx_post_rate": "10r/s",
        "nginx_post_burst": 40,
        "nginx_connections": 64,
    }
    assert {key: conf["limits", key] for key in expected} == expected
    assert conf["posts", "anonymous_posts"] == "open"


@pytest.mark.parametrize(
    "key, raw, expected",
    [
        ("login", "10/h", (10, 3600)),
        ("login", "5/10m", (5, 600)),
        ("signup", "off", None),
        ("upload_bytes", "512K", 512 * 1024),
        ("upload_bytes", "1G", 1024**3),
        ("upload_bytes", "1000", 1000),
        ("upload_bytes", "off", None),
        ("nginx_post_rate", "600r/m", "600r/m"),
        ("nginx_post_rate", " 5 r/s", "5r/s"),
        ("nginx_post_rate", "off", None),
        ("nginx_connections", "off", None),
        ("nginx_connections", "1", 1),
        ("nginx_post_burst", "0", 0),
        ("ipv6_prefix", "48", 48),
    ],
)
def test_limits_parse(write_config, key, raw, expected):
    assert load(write_config, f"[limits]\n{key} = {raw}\n")["limits", key] == expected


@pytest.mark.parametrize(
    "key, raw, message",
    [
        ("login", "lots", "'lots' is not a rate such as 10/h"),
        ("upload_bytes", "9T", "'9T' is not a size such as 100M"),
        ("nginx_post_rate", "10/s", "'10/s' is not a rate such as 10r/s"),
        ("nginx_post_rate", "0r/s", "'0r/s' is not a rate"),
        ("nginx_connections", "0", "0 must be at least 1"),
        ("nginx_post_burst", "-1", "-1 must be at least 0"),
        ("ipv4_prefix", "7", "7 must be at least 8 and at most 32"),
        ("ipv6_prefix", "129", "129 must be at least 32 and at most 128"),
    ],
)
def test_bad_limits_name_the_key(write_config, key, raw, message):
    with pytest.raises(ConfigError) as caught:
        load(write_config, f"[limits]\n{key} = {raw}\n")
    assert f":4: [limits] {key}: {message}" in str(caught.value)


def test_deprecated_accounts_rates_are_aliases(write_config):
    conf = load(write_config, "[accounts]\nsignup_rate = 4/h\nlogin_rate = off\n")
    assert conf["limits", "signup"] == (4, 3600)
    assert conf["limits", "login"] is None
    assert conf.origin("limits", "signup").endswith("ublog.conf:4")
    # The [limits] key wins when both are set.
    conf = load(write_config, "[accounts]\nlogin_rate = 4/h\n[limits]\nlogin = 5/h\n")
    assert conf["limits", "login"] == (5, 3600)


def test_anonymous_posts_setting(write_config):
    conf = load(write_config, "[posts]\nanonymous_posts = Moderated\n")
    assert conf["posts", "anonymous_posts"] == "moderated"
    with pytest.raises(ConfigError, match=r"\[posts\] anonymous_posts: 'x' is not"):
        load(write_config, "[posts]\nanonymous_posts = x\n")
