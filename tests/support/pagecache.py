"""nginx's micro-cache seen from outside, as anonymous visitors meet it.

The site's nginx tells what it did in ``X-Ublog-Cache`` (HIT, MISS,
EXPIRED, UPDATING, BYPASS). A page lives until the end of the second it was
made in, so a write shows to everybody within a second, plus the one
render that refreshes an expired page while the others are still served
the stale one (``proxy_cache_use_stale updating``): :data:`GRACE` allows
for that render.
:func:`watch_change` checks exactly that, on one host or several.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from support.httpclient import HttpSession, Response

HEADER = "X-Ublog-Cache"
#: A page lives at most this long after the write it does not show.
LIFETIME = 1.0
#: On top of it: the render of the refreshed page, served to the next visitor.
GRACE = 0.5


def status_of(response: Response) -> str | None:
    """What nginx's cache did for ``response`` (None: no cache in front)."""
    return response.headers.get(HEADER)


def warm(web: HttpSession, path: str, tries: int = 50) -> Response:
    """GET ``path`` until nginx answers it from its cache (a HIT)."""
    for _ in range(tries):
        response = web.get(path)
        if status_of(response) == "HIT":
            return response
    raise AssertionError(
        f"{path}: no HIT in {tries} requests in a row ({status_of(response)})"
    )


@dataclass
class Change:
    """When a change showed, in seconds after the write's answer: the
    last stale answer and the first answer that showed it, per host."""

    last_stale: dict[str, float]
    first_fresh: dict[str, float]

    def summary(self) -> str:
        return ", ".join(
            f"{host}: last stale +{self.last_stale.get(host, 0):.2f} s, "
            f"first fresh +{fresh:.2f} s"
            for host, fresh in self.first_fresh.items()
        )


def watch_change(
    hosts: dict[str, HttpSession],
    path: str,
    shows: Callable[[Response], bool],
    written_at: float,
    watch: float = LIFETIME + GRACE + 1.0,
) -> Change:
    """Ask each of ``hosts`` (anonymous sessions, by name) for ``path`` in
    turn until ``watch`` seconds after ``written_at`` (the monotonic time
    the write was answered); fail if an answer to a request sent later than
    :data:`LIFETIME` + :data:`GRACE` after it does not show the change
    (``shows``), or if one never does."""
    last_stale: dict[str, float] = {}
    first_fresh: dict[str, float] = {}
    while (sent := time.monotonic()) < written_at + watch:
        for host, web in hosts.items():
            sent = time.monotonic()
            response = web.get(path)
            after = sent - written_at
            if shows(response):
                first_fresh.setdefault(host, after)
                continue
            last_stale[host] = after
            assert after <= LIFETIME + GRACE, (
                f"{host}{path}: still the page from before the write, asked "
                f"{after:.2f} s after it ({status_of(response)}, {response.status})"
            )
        time.sleep(0.02)
    assert set(first_fresh) == set(hosts), (
        f"never shown by {set(hosts) - set(first_fresh)}"
    )
    return Change(last_stale, first_fresh)
