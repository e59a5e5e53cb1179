"""A tiny HTTP client for tests: cookies, Django's CSRF, forms, uploads.

:class:`HttpSession` keeps cookies and never uses a proxy; ``post_form``
and ``post_multipart`` fill in Django's CSRF token from the ``csrftoken``
cookie (GET the form page first) and send the ``Referer`` Django checks.
:func:`raw_request` sends bytes exactly as given, for requests no client
library would send.
"""

from __future__ import annotations

import functools
import http.client
import http.cookiejar
import io
import json
import re
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import NamedTuple


class Response(NamedTuple):
    """An HTTP response: unpacks as ``status, headers, body``."""

    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type.

    ``files`` maps a field name to ``(filename, content, content_type)``.
    """
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f"--{boundary}\r\n".encode())
        out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(f"{value}\r\n".encode())
    for name, (filename, content, ctype) in files.items():
        out.write(f"--{boundary}\r\n".encode())
        out.write(
            f'Content-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class HttpSession:
    """A cookie-keeping client of one site (``base_url``).

    ``source`` binds its connections to one of the host's addresses (a
    client address of its own); ``headers`` go with every request (a
    ``Host`` the site knows, when ``base_url`` names it by another address);
    ``tls`` verifies an https ``base_url`` (:func:`unverified` for a
    self-signed certificate).
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 30,
        source: str | None = None,
        headers: dict | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.cookies = http.cookiejar.CookieJar()
        handlers = [
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.cookies),
        ]
        if source:
            handlers.append(_BoundHandler(source))
        if tls is not None:
            handlers.append(urllib.request.HTTPSHandler(context=tls))
        self._follow = urllib.request.build_opener(*handlers)
        self._stay = urllib.request.build_opener(*handlers, _NoRedirect())

    def request(
        self,
        path: str,
        method: str = "GET",
        data: dict | bytes | str | None = None,
        headers: dict | None = None,
        follow: bool = True,
    ) -> Response:
        """Send a request; ``data`` as a dict is form-encoded."""
        headers = {**self.headers, **(headers or {})}
        if isinstance(data, dict):
            data = urllib.parse.urlencode(data, doseq=True)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if isinstance(data, str):
            data = data.encode()
        req = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        opener = self._follow if follow else self._stay
        try:
            with opener.open(req, timeout=self.timeout) as resp:
                return Response(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as e:
            with e:
                return Response(e.code, dict(e.headers), e.read())

    def get(self, path: str, **kwargs) -> Response:
        return self.request(path, **kwargs)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def post_form(self, path: str, fields: dict, **kwargs) -> Response:
        """POST a form with Django's CSRF token (from the cookie) filled in."""
        token = self.cookie("csrftoken")
        if token:
            fields = {"csrfmiddlewaretoken": token, **fields}
        headers = {"Referer": self.base_url + path, **kwargs.pop("headers", {})}
        return self.request(path, "POST", fields, headers, **kwargs)

    def post_multipart(
        self, path: str, fields: dict, files: dict, follow: bool = False
    ) -> Response:
        """POST a multipart form (``files``: see :func:`multipart`) with the
        CSRF token from the cookie (empty when there is none)."""
        fields = {"csrfmiddlewaretoken": self.cookie("csrftoken") or "", **fields}
        body, ctype = multipart(fields, files)
        headers = {"Content-Type": ctype, "Referer": self.base_url + path}
        return self.request(path, "POST", body, headers, follow=follow)


def unverified() -> ssl.SSLContext:
    """TLS that accepts any certificate (a self-signed one)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _BoundHandler(urllib.request.HTTPHandler):
    """HTTP connections from one local address."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def http_open(self, req):
        bound = functools.partial(
            http.client.HTTPConnection, source_address=(self.source, 0)
        )
        return self.do_open(bound, req)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx responses back instead of following them."""

    def redirect_request(self, *args, **kwargs):
        return None


def answer_head(
    address: str,
    parts: list[bytes],
    port: int = 80,
    until: bytes = b"\r\n",
    timeout: float = 30,
) -> bytes:
    """Send ``parts`` as they are, one after the other (no client library
    fixes them); what the server answered, read up to ``until``."""
    with socket.create_connection((address, port), timeout=timeout) as conn:
        for part in parts:
            conn.sendall(part)
        answer = b""
        while until not in answer:
            piece = conn.recv(65536)
            if not piece:
                break
            answer += piece
    return answer


def status_code(answer: bytes, sent: bytes = b"") -> int:
    """The status code of an answer :func:`answer_head` read."""
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    if not match:
        raise AssertionError(f"no HTTP answer to {sent[:80]!r}: {answer[:200]!r}")
    return int(match[1])


def raw_request(address: str, data: bytes, port: int = 80) -> int:
    """Send bytes as they are (no client library fixes them); return the
    status code of the answer."""
    return status_code(answer_head(address, [data], port), data)
