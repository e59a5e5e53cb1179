"""Django's PostgreSQL backend, waiting for a server that is restarting.

An ``apt upgrade`` of PostgreSQL (a security update, a release upgrade)
restarts the cluster: for a few seconds its socket is gone, then it answers
"the database system is starting up" (or "shutting down"). Django would
answer every request of that window with a 500. Here a new connection that
fails that way is tried again, with a growing pause, for up to
``OPTIONS["connect_wait"]`` seconds (``[database] connect_wait``); the
request waits instead of failing. Any other error (a wrong password, a
missing database) fails at once, as before. Inside :func:`no_wait` (the
health check, which must answer at once) nothing waits.

The health check of a persistent connection (``CONN_HEALTH_CHECKS``, once
per request) asks the socket instead of the server: Django's sends
``SELECT 1``, a round trip on every request. The server writes to an idle
connection only to end it (a restart or a terminated backend: an error
message, then the end of the stream), so an idle connection with something
to read, or none to read from, is over, and Django opens a new one (which
waits for a restarting server, as above).
"""

from __future__ import annotations

import select
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.backends.postgresql import base

#: Set by :func:`no_wait`: new connections fail at once.
_NO_WAIT: ContextVar[bool] = ContextVar("ublog_db_no_wait", default=False)


@contextmanager
def no_wait():
    """New connections made in this block do not wait for a restart."""
    token = _NO_WAIT.set(True)
    try:
        yield
    finally:
        _NO_WAIT.reset(token)


#: What libpq says while the server restarts.
RESTARTING = (
    "No such file or directory",  # the socket is gone
    "Connection refused",  # TCP, nothing listening yet
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is not yet accepting connections",
    "the database system is in recovery mode",
)


def restarting(error: Exception) -> bool:
    """Whether a connection error says the server is (re)starting."""
    return any(text in str(error) for text in RESTARTING)


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        """Whether the connection is still open, without a query."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError, base.Database.Error):
            return False
        return not readable

    def get_connection_params(self):
        params = super().get_connection_params()
        self.connect_wait = float(params.pop("connect_wait", 0))
        return params

    def get_new_connection(self, conn_params):
        wait = 0 if _NO_WAIT.get() else getattr(self, "connect_wait", 0)
        deadline = time.monotonic() + wait
        pause = 0.1
        while True:
            try:
                return super().get_new_connection(conn_params)
            except base.Database.OperationalError as error:
                if not restarting(error) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
