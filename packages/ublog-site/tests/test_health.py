"""``/healthz``: 200 when the database answers, 503 at once when it does
not; no host check, no session, no cookie, no HTTPS redirect, no write."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from ublog_site import health
from ublog_site.system.status import probe


@pytest.mark.django_db
def test_healthz_answers_ok_for_any_host_without_session_or_write(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz", HTTP_HOST="10.9.8.7:8080")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 1"]
    # Any other page still checks the host.
    assert client.get("/", HTTP_HOST="10.9.8.7:8080").status_code == 400


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
def test_healthz_is_not_redirected_to_https(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 301


@pytest.mark.django_db
def test_healthz_only_reads(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert client.head("/healthz").status_code == 200


def test_healthz_says_503_at_once_when_the_database_does_not_answer(
    client, postgresql, waiting_backend, tmp_path, monkeypatch, django_db_blocker
):
    """A server whose socket is gone (stopped, restarting): visitors' new
    connections would wait connect_wait (30 s here); the health check does
    not."""
    gone = tmp_path / "no-socket"
    gone.mkdir()
    down = waiting_backend(str(gone), "postgres", postgresql.user, wait=30)
    monkeypatch.setattr(health, "connection", down)
    started = time.monotonic()
    with django_db_blocker.unblock():
        response = client.get("/healthz")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.content.startswith(b"database unavailable: ")
    assert b"No such file or directory" in response.content
    assert response["Cache-Control"] == "no-store"


def test_healthz_replaces_a_broken_persistent_connection_without_waiting(
    client, postgresql, waiting_backend, tmp_path, monkeypatch, django_db_blocker
):
    """The site keeps connections (conn_max_age) with Django's health
    checks: when the server goes away, the check finds the connection
    broken and connects anew, and that must not wait either."""
    empty = tmp_path / "empty"
    empty.mkdir()
    alias = tmp_path / "socket"
    alias.symlink_to(postgresql.host)
    kept = waiting_backend(str(alias), "postgres", postgresql.user, 30, True)
    monkeypatch.setattr(health, "connection", kept)
    with django_db_blocker.unblock():
        assert client.get("/healthz").status_code == 200
        pid = kept.connection.info.backend_pid
        # The server goes away: this session ends, its socket is gone.
        other = waiting_backend(postgresql.host, "postgres", postgresql.user, 0)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        other.close()
        link = tmp_path / "new-link"
        link.symlink_to(empty)
        link.replace(alias)
        kept.health_check_done = False  # as at the start of every request
        started = time.monotonic()
        response = client.get("/healthz")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert b"No such file or directory" in response.content


def test_healthz_says_200_through_the_waiting_backend(
    client, postgresql, waiting_backend, monkeypatch, django_db_blocker
):
    up = waiting_backend(postgresql.host, "postgres", postgresql.user, wait=30)
    monkeypatch.setattr(health, "connection", up)
    with django_db_blocker.unblock():
        try:
            assert client.get("/healthz").status_code == 200
        finally:
            up.close()


@pytest.fixture
def server():
    """A local HTTP server answering /healthz with ``server.answer``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = httpd.answer
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.answer = (200, b"ok\n")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_status_probe_reports_the_answer(server):
    url = f"http://127.0.0.1:{server.server_port}/healthz"
    assert probe(url) == (True, "200 ok")
    server.answer = (503, b"database unavailable: gone\n")
    assert probe(url) == (False, "503 database unavailable: gone")


def test_status_probe_reports_no_answer(server):
    port = server.server_port
    server.shutdown()
    server.server_close()
    answered, text = probe(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert not answered and text.startswith("no answer: ")
    assert "refused" in text.lower()
