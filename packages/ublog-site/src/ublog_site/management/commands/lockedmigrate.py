"""``ublog-ctl lockedmigrate``: migrate under a lock held in the database.

When several app hosts share one database and are upgraded together, only
one of them may migrate; the others must wait for the schema and then find
nothing left to do. The lock is a PostgreSQL advisory lock, so it holds
across hosts whatever their clocks or file systems; it is released when the
migration ends, and by PostgreSQL itself if the host dies half way. With
SQLite (one host by definition) this is plain ``migrate``.
"""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

#: The advisory lock's key: "ublog" as a number.
LOCK_KEY = int.from_bytes(b"ublog", "big")


class Command(BaseCommand):
    help = "Run migrate while holding a database-wide lock (one host at a time)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database=DEFAULT_DB_ALIAS, verbosity=1, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            call_command("migrate", database=database, interactive=False,
                         verbosity=verbosity)  # fmt: skip
            return
        self._locked_migrate(connection, database, verbosity)  # pragma: no cover

    def _locked_migrate(self, connection, database, verbosity):  # pragma: no cover
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
            call_command("migrate", database=database, interactive=False,
                         verbosity=verbosity)  # fmt: skip
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
