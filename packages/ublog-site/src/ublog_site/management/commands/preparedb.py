"""``ublog-ctl preparedb``: everything the site needs in its database.

The one idempotent step that ``make run``, ``ublog-ctl setup`` (on every
install and upgrade) and the tests use: ``migrate``, then the cache table
(``createcachetable``; the default cache is a database table). Run it
again after any upgrade of the code; it does only what is missing.

When several app hosts share one PostgreSQL database and are upgraded
together, only one of them may migrate; the others must wait for the schema
and then find nothing left to do. The lock is a PostgreSQL advisory lock, so
it holds across hosts whatever their clocks or file systems; it is released
when the step ends, and by PostgreSQL itself if the host dies half way. With
SQLite (one host by definition) no lock is needed.
"""

import time
from contextlib import contextmanager

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

#: The advisory lock's key: "ublog" as a number.
LOCK_KEY = int.from_bytes(b"ublog", "big")


class Command(BaseCommand):
    help = "Migrate and create the cache table, one host at a time."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database=DEFAULT_DB_ALIAS, verbosity=1, **options):
        with self._lock(connections[database]):
            call_command("migrate", database=database, interactive=False,
                         verbosity=verbosity)  # fmt: skip
            call_command("createcachetable", database=database, verbosity=verbosity)

    @contextmanager
    def _lock(self, connection):
        if connection.vendor != "postgresql":
            yield
            return
        yield from self._advisory_lock(connection)  # pragma: no cover

    def _advisory_lock(self, connection):  # pragma: no cover
        # (PostgreSQL only: run by the install and cluster tests.)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                self.stdout.write(
                    "another host is migrating the database: waiting for it",
                )
                self.stdout.flush()
                started = time.monotonic()
                cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
                self.stdout.write(
                    f"the other host finished after {time.monotonic() - started:.0f} s"
                )
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
