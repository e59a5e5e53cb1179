"""Rate limits on sign-up and log-in POSTs, per client address."""

import pytest
from django.core.cache import cache

from ublog_site import ratelimit
from ublog_site.config import ConfigError, load_config
from ublog_site.ratelimit import client_address


@pytest.fixture(autouse=True)
def fresh_counters(db, monkeypatch):
    """Empty counters, and a clock that stays inside one window (a real one
    could cross a window boundary between two requests and reset them)."""
    cache.clear()
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_010.5)
    yield
    cache.clear()


def test_the_window_resets_the_counter(client, settings, monkeypatch):
    settings.UBLOG_RATE_LIMITS = {"ublog_accounts:login": (1, 60)}
    assert login(client).status_code == 200
    assert login(client).status_code == 429
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_800_000_070.5)
    assert login(client).status_code == 200


@pytest.fixture
def limit_login(settings):
    settings.UBLOG_RATE_LIMITS = {"ublog_accounts:login": (2, 60)}


def login(client, **extra):
    return client.post(
        "/accounts/login/", {"username": "nobody", "password": "wrong"}, **extra
    )


def test_login_attempts_over_the_limit_get_429(client, limit_login):
    assert login(client).status_code == 200  # the form, with its error
    assert login(client).status_code == 200
    third = login(client)
    assert third.status_code == 429
    assert 0 < int(third["Retry-After"]) <= 60
    assert b"Too many attempts" in third.content
    # GETs are never limited; other addresses have their own counters.
    assert client.get("/accounts/login/").status_code == 200
    other = login(client, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert other.status_code == 200


def test_a_forged_forwarded_for_does_not_escape_the_limit(client, limit_login):
    for forged in ("1.1.1.1", "2.2.2.2"):
        # nginx appends the real address last: the first entries are the client's.
        response = login(client, HTTP_X_FORWARDED_FOR=f"{forged}, 198.51.100.7")
    assert response.status_code == 200
    assert login(client, HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.7").status_code == (
        429
    )


def test_signup_is_limited_by_default(client):
    for _ in range(10):
        assert client.post("/accounts/signup/", {}).status_code == 200
    assert client.post("/accounts/signup/", {}).status_code == 429


def test_unlimited_views_and_unknown_paths_pass(client, settings):
    settings.UBLOG_RATE_LIMITS = {"ublog_accounts:login": None}
    for _ in range(5):
        assert login(client).status_code == 200
    assert client.post("/no/such/page/").status_code in (403, 404)


def test_client_address_from_a_direct_connection(rf):
    request = rf.get("/", REMOTE_ADDR="192.0.2.4", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_address(request) == "192.0.2.4"
    request = rf.get("/", REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.5")
    assert client_address(request) == "192.0.2.5"


@pytest.mark.parametrize(
    "raw, expected",
    [("10/h", (10, 3600)), ("5/10m", (5, 600)), ("1/s", (1, 1)), ("off", None)],
)
def test_rates_parse(write_config, raw, expected):
    path = write_config(
        f"[ublog]\nsecret_key = {'k' * 60}\n[accounts]\nlogin_rate = {raw}\n"
    )
    assert load_config({"UBLOG_CONFIG": str(path)})["accounts", "login_rate"] == (
        expected
    )


def test_bad_rate_names_the_key(write_config):
    path = write_config(
        f"[ublog]\nsecret_key = {'k' * 60}\n[accounts]\nsignup_rate = lots\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config({"UBLOG_CONFIG": str(path)})
    assert ":4: [accounts] signup_rate: 'lots' is not a rate" in str(caught.value)
