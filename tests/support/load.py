"""Load on the site while something happens to it (an upgrade): visitors
from the host, one request after another, every request counted.

A :class:`Load` reads pages anonymously, publishes anonymous posts, logs in
and likes a post, all of it answered by the application (nginx alone serves
static files and media, so the load asks for none). It stops when told to
(or after ``limit`` seconds) and lists every request that got no answer or
another status than the one expected. Logins stay under the site's
sign-in rate limit per address (``max_logins``); the site runs with
:data:`LIMITS`.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter

from support.httpclient import HttpSession

#: Every post the load publishes starts with this.
POST_TEXT = "under load"

#: The [limits] a load needs lifted: it publishes and likes faster than
#: any person, one address, one user (the limits are test_abuse's subject).
LIMITS = {
    "anonymous_post": "off",
    "like": "off",
    "login_per_user": "off",
    "nginx_post_rate": "200r/s",
    "nginx_post_burst": "200",
}


class Load(threading.Thread):
    """Requests from the host to ``base_url`` until :meth:`finish`."""

    def __init__(
        self,
        base_url: str,
        post: int,
        username: str,
        password: str,
        limit: float = 600,
        max_logins: int = 10,
    ):
        super().__init__(daemon=True)
        self.base_url, self.post = base_url, post
        self.username, self.password = username, password
        self.limit, self.logins_left = limit, max_logins
        self.stop = threading.Event()
        self.sent: Counter[str] = Counter()  # requests answered as expected
        self.failed: list[str] = []
        self.failed_at: list[float] = []  # time.monotonic() of each failure
        # Failures by cause: the error's name (ConnectionRefusedError, ...) or
        # the HTTP status.
        self.causes: Counter[str] = Counter()
        self.liked: bool | None = None  # after the last like that got through
        self.user: HttpSession | None = None

    def finish(self) -> None:
        self.stop.set()
        self.join()

    @property
    def posts(self) -> int:
        """POSTs answered as expected."""
        return sum(n for kind, n in self.sent.items() if kind.startswith("POST"))

    def summary(self) -> str:
        total = sum(self.sent.values())
        return (
            f"{total} requests ({self.posts} POSTs: "
            f"{self.sent['POST anonymous post']} anonymous posts, "
            f"{self.sent['POST login']} logins, {self.sent['POST like']} likes), "
            f"{len(self.failed)} failed {self.failed[:5]}"
        )

    def outages(self, gap: float = 1.0) -> list[float]:
        """How long each run of failures lasted, in seconds: failures less
        than ``gap`` apart belong to the same run."""
        runs: list[list[float]] = []
        for at in self.failed_at:
            if runs and at - runs[-1][1] < gap:
                runs[-1][1] = at
            else:
                runs.append([at, at])
        return [round(end - start, 1) for start, end in runs]

    def run(self) -> None:
        deadline = time.monotonic() + self.limit
        anonymous = HttpSession(self.base_url)
        steps = [
            self._login,
            lambda: self._send("GET list", anonymous.get, "/"),
            lambda: self._anonymous_post(anonymous),
            lambda: self._send("GET post", anonymous.get, f"/{self.post}/"),
            self._like,
        ]
        while not self.stop.is_set() and time.monotonic() < deadline:
            for step in steps:
                step()

    def _send(self, kind: str, method, *args, expect: int = 200, **kwargs):
        try:
            response = method(*args, **kwargs)
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)  # URLError wraps the OSError
            self._fail(f"{kind}: {exc!r}", type(reason).__name__)
            return None
        if response.status != expect:
            self._fail(f"{kind}: HTTP {response.status}", f"HTTP {response.status}")
            return None
        self.sent[kind] += 1
        return response

    def _fail(self, what: str, cause: str) -> None:
        self.failed.append(what)
        self.causes[cause] += 1
        self.failed_at.append(time.monotonic())

    def _anonymous_post(self, web: HttpSession) -> None:
        if self._send("GET new-post form", web.get, "/new/"):
            number = self.sent["POST anonymous post"] + 1
            self._send(
                "POST anonymous post",
                web.post_multipart,
                "/new/",
                {"text": f"{POST_TEXT} {number}"},
                {},
                expect=302,
            )

    def _login(self) -> None:
        """A fresh visitor logs in (while the rate limit allows)."""
        if self.logins_left <= 0 or (self.user and self.sent["POST like"] % 4):
            return
        self.logins_left -= 1
        web = HttpSession(self.base_url)
        if not self._send("GET login form", web.get, "/accounts/login/"):
            return
        done = self._send(
            "POST login",
            web.post_form,
            "/accounts/login/",
            {"username": self.username, "password": self.password},
            follow=False,
            expect=302,
        )
        if done:
            self.user = web

    def _like(self) -> None:
        if self.user is None:
            return
        liked = self._send(
            "POST like",
            self.user.post_form,
            f"/{self.post}/like/",
            {},
            headers={"Accept": "application/json"},
        )
        if liked:
            self.liked = liked.json()["liked"]
