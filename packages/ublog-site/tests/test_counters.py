"""The counters under real concurrency: 32 threads racing django-ratelimit's
``get_usage`` and the counters cache on a SQLite *file* (WAL, the site's
IMMEDIATE transactions), on PostgreSQL, on memcached and on Redis. Exactly
min(N, L) of N requests get through a limit L, and a refused upload gives
its bytes back."""

import itertools

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django_ratelimit.core import get_usage

from ublog_site import limits
from ublog_site.models import RateCounter

from .races import N, figure, race

ALIAS = "race"
LIMITS = (1, 10, 31, 32, 40)
_groups = itertools.count()


class CountersRouter:
    """Sends ``RateCounter`` to the race's database."""

    def db_for_write(self, model, **hints):
        return ALIAS if model is RateCounter else None

    db_for_read = db_for_write


def _database(kind, tmp_path, request) -> dict:
    if kind == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(tmp_path / "counters.sqlite3"),
            "OPTIONS": dict(django_settings.DATABASES["default"]["OPTIONS"]),
        }
    server = request.getfixturevalue("postgresql")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": server.create_database("ublog_counters"),
        "HOST": server.host,
        "USER": server.user,
    }


@pytest.fixture(params=["sqlite", "postgresql", "memcached", "redis"])
def counters(request, settings, tmp_path, django_db_blocker):
    """The ``counters`` cache on a real server of each kind; its name."""
    kind = request.param
    if kind in ("sqlite", "postgresql"):
        database = _database(kind, tmp_path, request)
        default = connections.settings["default"]
        connections.settings[ALIAS] = connections.configure_settings(
            {"default": default, ALIAS: database}
        )[ALIAS]
        settings.DATABASE_ROUTERS = [f"{__name__}.CountersRouter"]
        cache = {"BACKEND": "ublog_site.counters.DatabaseCounterCache"}
        with django_db_blocker.unblock():
            with connections[ALIAS].schema_editor() as editor:
                editor.create_model(RateCounter)
            connections[ALIAS].close()
    elif kind == "memcached":
        location = request.getfixturevalue("memcached")
        cache = {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": [location],
        }
    else:
        location = request.getfixturevalue("redis_server")
        cache = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": [location],
        }
    settings.CACHES = {**settings.CACHES, "counters": {**cache, "KEY_PREFIX": "t"}}
    settings.RATELIMIT_USE_CACHE = "counters"
    with django_db_blocker.unblock():
        yield kind
        if ALIAS in connections.settings:
            connections[ALIAS].close()
            del connections[ALIAS]
            del connections.settings[ALIAS]


def test_exactly_the_limit_gets_through(counters, rf):
    request = rf.post("/", REMOTE_ADDR="192.0.2.1")
    for limit in LIMITS:
        group = f"race-{next(_groups)}"

        def attempt(_i, group=group, limit=limit):
            usage = get_usage(
                request,
                group=group,
                key=lambda group, request: "one client",
                rate=(limit, 86400),
                method="POST",
                increment=True,
            )
            return not usage["should_limit"]

        passed = sum(race(attempt))
        figure(f"counters {counters}: limit {limit}, {N} concurrent", passed)
        assert passed == min(N, limit)


def test_a_byte_budget_gives_back_what_it_refuses(counters, rf, settings):
    size = 1000
    settings.UBLOG_LIMITS = {"upload_bytes": 10 * size + 500}
    address = f"198.51.100.{next(_groups) % 250 + 1}"

    def upload(bytes_):
        data = {"image": SimpleUploadedFile("a.png", b"x" * bytes_, "image/png")}
        return rf.post("/", data, REMOTE_ADDR=address)

    requests = [upload(size) for _ in range(N)]
    results = race(lambda i: limits.count_upload_bytes(requests[i]) == 0)
    figure(f"counters {counters}: {N} uploads of 1000 B, budget 10500 B", sum(results))
    assert sum(results) == 10
    # The refused 22 gave their bytes back: 500 more still fit, 501 do not.
    assert limits.count_upload_bytes(upload(501)) > 0
    assert limits.count_upload_bytes(upload(500)) == 0
    assert limits.count_upload_bytes(upload(1)) > 0


def test_add_and_incr_with_a_delta_and_decr(counters):
    # A cache object per thread, as Django gives each request's thread.
    key = f"delta-{next(_groups)}"
    added = race(lambda i: caches["counters"].add(key, 0, 60))
    assert added.count(True) == 1
    totals = race(lambda i: caches["counters"].incr(key, 7))
    assert sorted(totals) == [7 * (i + 1) for i in range(N)]
    race(lambda i: caches["counters"].decr(key, 3))
    assert caches["counters"].get(key) == 7 * N - 3 * N
