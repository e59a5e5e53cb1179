"""An atomic counter cache in the site's database, for the rate limits.

Django's ``DatabaseCache`` implements ``incr`` as a read, then a write: two
workers read 7 and both write 8, so under a burst more requests get through
than the limit allows (150 concurrent wrong logins let 35 through a limit of
30). This backend holds integer counters only (``ublog_site.models.
RateCounter``) and does each operation in *one* SQL statement, which the
database applies atomically:

* ``add``: ``INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE expires <= now
  RETURNING value``: a new or expired key takes the value, a live one stays
  (a row comes back iff the value was stored);
* ``incr``/``decr``: ``UPDATE ... SET value = value + delta WHERE key = ...
  AND expires > now RETURNING value``.

The SQL is valid on PostgreSQL and on SQLite 3.35 or later. It runs in
autocommit (the rate-limit middleware runs outside any view transaction), so
a counter row is locked for one statement only. ``ublog-ctl cleanup``
deletes the expired rows.
"""

import datetime

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.db import connections, router

from ublog_site.models import RateCounter

_FOREVER = datetime.datetime(9999, 12, 31, tzinfo=datetime.timezone.utc)


def _check(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"the counters cache stores integers only, not {value!r}")
    return value


class DatabaseCounterCache(BaseCache):
    """Integer counters in ``RateCounter``'s table; see the module doc."""

    def __init__(self, location, params):
        super().__init__(params)

    # -- helpers ---------------------------------------------------------------

    def _run(self, sql: str, params) -> tuple[list, int]:
        """Execute one statement; return its rows and row count.

        The names in ``sql`` are ``{table}``, ``{key}``, ``{value}`` and
        ``{expires}``, quoted for the database here. Every row is fetched
        before the cursor closes: SQLite commits a RETURNING statement only
        then.
        """
        connection = connections[router.db_for_write(RateCounter)]
        quote = connection.ops.quote_name
        names = {
            "table": quote(RateCounter._meta.db_table),
            **{field: quote(field) for field in ("key", "value", "expires")},
        }
        with connection.cursor() as cursor:
            cursor.execute(sql.format(**names), params)
            rows = cursor.fetchall() if cursor.description else []
            return rows, cursor.rowcount

    def _datetime(self, moment: datetime.datetime):
        connection = connections[router.db_for_write(RateCounter)]
        return connection.ops.adapt_datetimefield_value(moment)

    def _now(self):
        return self._datetime(datetime.datetime.now(datetime.timezone.utc))

    def _expires(self, timeout):
        seconds = self.get_backend_timeout(timeout)  # a time.time() or None
        if seconds is None:
            return self._datetime(_FOREVER)
        moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        return self._datetime(moment)

    def _key(self, key, version) -> str:
        key = self.make_and_validate_key(key, version=version)
        if len(key) > 250:
            raise ValueError(f"cache key longer than 250 characters: {key!r}")
        return key

    # -- the cache API ---------------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        rows, _count = self._run(
            "INSERT INTO {table} ({key}, {value}, {expires}) VALUES (%s, %s, %s) "
            "ON CONFLICT ({key}) DO UPDATE SET {value} = excluded.{value}, "
            "{expires} = excluded.{expires} WHERE {table}.{expires} <= %s "
            "RETURNING {value}",
            [self._key(key, version), _check(value), self._expires(timeout)]
            + [self._now()],
        )
        return bool(rows)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._run(
            "INSERT INTO {table} ({key}, {value}, {expires}) VALUES (%s, %s, %s) "
            "ON CONFLICT ({key}) DO UPDATE SET {value} = excluded.{value}, "
            "{expires} = excluded.{expires}",
            [self._key(key, version), _check(value), self._expires(timeout)],
        )

    def get(self, key, default=None, version=None):
        rows, _count = self._run(
            "SELECT {value} FROM {table} WHERE {key} = %s AND {expires} > %s",
            [self._key(key, version), self._now()],
        )
        return rows[0][0] if rows else default

    def incr(self, key, delta=1, version=None):
        key = self._key(key, version)
        rows, _count = self._run(
            "UPDATE {table} SET {value} = {value} + %s "
            "WHERE {key} = %s AND {expires} > %s RETURNING {value}",
            [_check(delta), key, self._now()],
        )
        if not rows:
            raise ValueError(f"Key '{key}' not found")
        return rows[0][0]

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        _rows, count = self._run(
            "UPDATE {table} SET {expires} = %s WHERE {key} = %s AND {expires} > %s",
            [self._expires(timeout), self._key(key, version), self._now()],
        )
        return count > 0

    def delete(self, key, version=None):
        _rows, count = self._run(
            "DELETE FROM {table} WHERE {key} = %s", [self._key(key, version)]
        )
        return count > 0

    def has_key(self, key, version=None):
        return self.get(key, version=version) is not None

    def clear(self):
        self._run("DELETE FROM {table}", [])
