"""ublog_site.db.postgresql: a new connection waits for a restarting server.

A real server (the session's throwaway cluster) is reached through a socket
directory that first has no socket, as while PostgreSQL restarts, and gets
one a second later: the connection waits and succeeds. Without
``connect_wait`` it fails at once, and so does an error that is not a
restart (a database that does not exist), however long the wait.
"""

import os
import threading
import time

import pytest
from django.db.utils import OperationalError


@pytest.fixture(autouse=True)
def unblocked(django_db_blocker):
    """These tests make their own connections (pytest-django blocks them)."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def socket_later(postgresql, tmp_path):
    """A socket directory with no socket, which becomes the server's after
    a second (a symbolic link replaced atomically)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    alias = tmp_path / "socket"
    alias.symlink_to(empty)

    ready = threading.Event()

    def restart():
        time.sleep(1.0)
        link = tmp_path / "new-link"
        link.symlink_to(postgresql.host)
        os.replace(link, alias)
        ready.set()

    thread = threading.Thread(target=restart)
    thread.start()
    yield str(alias), ready
    thread.join()


def test_a_new_connection_waits_for_the_server(
    waiting_backend, postgresql, socket_later
):
    host, ready = socket_later
    connection = waiting_backend(host, "postgres", postgresql.user, wait=10)
    assert not ready.is_set()  # no socket yet when it starts connecting
    connection.ensure_connection()
    assert ready.is_set()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
    finally:
        connection.close()


def test_without_a_wait_it_fails_at_once(waiting_backend, postgresql, socket_later):
    host, ready = socket_later
    connection = waiting_backend(host, "postgres", postgresql.user, wait=0)
    with pytest.raises(OperationalError, match="No such file or directory"):
        connection.ensure_connection()
    assert not ready.is_set()


def test_other_errors_fail_at_once(waiting_backend, postgresql):
    connection = waiting_backend(
        postgresql.host, "no_such_database", postgresql.user, 10
    )
    started = time.monotonic()
    with pytest.raises(OperationalError, match="does not exist"):
        connection.ensure_connection()
    assert time.monotonic() - started < 1


def test_the_health_check_finds_an_ended_connection_without_a_query(
    waiting_backend, postgresql
):
    """A persistent connection's health check sends nothing (the server's
    record of its last statement stays), and finds it over once the server
    ended it (what a restart does to every idle backend): Django then opens
    a new one and the request goes on."""
    connection = waiting_backend(postgresql.host, "postgres", postgresql.user, 5, True)
    admin = waiting_backend(postgresql.host, "postgres", postgresql.user, 0)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid() /* before the check */")
            (pid,) = cursor.fetchone()
        for _ in range(3):
            assert connection.is_usable()
        with admin.cursor() as cursor:
            cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
            assert cursor.fetchone() == (
                "SELECT pg_backend_pid() /* before the check */",
            )
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while connection.is_usable():
            assert time.monotonic() < deadline, "the ended connection looks usable"
            time.sleep(0.05)
        # A new request: Django's health check replaces the connection.
        connection.close_if_unusable_or_obsolete()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] != pid
    finally:
        connection.close()
        admin.close()
