"""``/healthz``: whether this application host can serve, for a load
balancer, monitoring and ``ublog-ctl status``.

The first middleware answers it before anything else runs: no host check
(a balancer asks by address), no session, no cookie, no rate limit, no HTTPS
redirect, no write. 200 ``ok`` when the database answers ``SELECT 1``, 503
with the reason otherwise, at once: a restarting server is not waited for
(the backend's ``connect_wait`` is for visitors' requests). Never cached.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.db import DatabaseError, connection
from django.http import HttpResponse

PATH = "/healthz"


def database_answers() -> str | None:
    """None when the database answers, else why not (one line)."""
    try:
        # All of it inside the no-wait block: a persistent connection found
        # broken by Django's health check is replaced within cursor().
        with _no_wait(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        connection.close()  # the next request starts afresh
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    return None


def _no_wait():
    """The backend's no-wait block (PostgreSQL), else nothing."""
    if connection.vendor == "postgresql":
        from .db.postgresql.base import no_wait

        return no_wait()
    return nullcontext()


def answer(method: str) -> HttpResponse:
    if method not in ("GET", "HEAD"):
        response = HttpResponse("GET or HEAD\n", status=405, content_type="text/plain")
        response["Allow"] = "GET, HEAD"
    else:
        problem = database_answers()
        if problem is None:
            response = HttpResponse("ok\n", content_type="text/plain")
        else:
            response = HttpResponse(
                f"database unavailable: {problem}\n",
                status=503,
                content_type="text/plain",
            )
    response["Cache-Control"] = "no-store"
    return response


class HealthMiddleware:
    """Answers :data:`PATH` itself; every other request goes on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == PATH:
            return answer(request.method)
        return self.get_response(request)
