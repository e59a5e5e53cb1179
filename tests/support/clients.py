"""Many clients with addresses of their own, all on the host, all at once.

A testbed's link (a veth pair: the host's end, the container's ``eth0`` in
the namespace the testbed made) carries one IPv4 address each side.
:class:`ClientAddresses` adds more on the host's end, so requests come
from distinct client addresses as the site sees them: IPv4 addresses from
198.18.<index>.0/24 (RFC 2544's benchmarking range, routed nowhere) and
IPv6 addresses from the unique-local fd15:15:<index>::/48, in two /64s.
Both ranges exist only on this link: the container gets an on-link route
to them (and an IPv6 address of its own), and they go with the link when
the testbed closes.

:func:`race` sends requests from many threads released together by a
barrier: they reach the site at the same moment, as a flood would.
"""

from __future__ import annotations

import ipaddress
import subprocess
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from support.httpclient import HttpSession, Response

IPV4 = "198.18"
IPV6 = "fd15:15"
#: A flood starts only with this many seconds left in its counters' windows.
MARGIN = 30


def window_left(value: str, period: int) -> int:
    """Seconds left in the rate-limit window of a counter keyed ``value``.

    The site counts with django-ratelimit, whose fixed windows are staggered
    by the CRC-32 of the key's value (``django_ratelimit.core._get_window``):
    a flood that straddles a window's end meets a fresh counter halfway, and
    gets up to twice the limit through (fixed windows do that, by design).
    The tests start each flood well inside its windows instead."""
    now = int(time.time())
    end = now - now % period + zlib.crc32(value.encode()) % period
    return (end if end >= now else end + period) - now


def wait_for_window(value: str, period: int) -> None:
    """Wait, if need be, until the window of ``value`` has :data:`MARGIN`
    seconds left (at most :data:`MARGIN` seconds)."""
    left = window_left(value, period)
    if left < MARGIN:
        time.sleep(left + 1)


def network(address: str, ipv6_prefix: int = 64) -> str:
    """The value the site keys an address's counters by: its /32, or its
    IPv6 /64 (``[limits] ipv4_prefix``, ``ipv6_prefix`` as packaged)."""
    bits = ipv6_prefix if ":" in address else 32
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class ClientAddresses:
    """Client addresses on the host for the testbed ``tb``."""

    def __init__(self, tb):
        self.tb = tb
        self.link = f"{tb.name}-h"  # the host's end of the testbed's veth
        self.ipv4_used = 0
        self.ipv6_ready = False

    def ipv4(self, count: int = 1, period: int | None = None) -> list[str]:
        """``count`` fresh IPv4 client addresses (with ``period``: each with
        :data:`MARGIN` seconds left in its window of that length)."""
        if self.ipv4_used == 0:
            _ip("-n", self.tb.name, "route", "add", f"{IPV4}.{self.tb.index}.0/24",
                "dev", "eth0")  # fmt: skip
        addresses = []
        while len(addresses) < count:
            self.ipv4_used += 1
            if self.ipv4_used > 254:
                raise ValueError("no more client addresses for this testbed")
            address = f"{IPV4}.{self.tb.index}.{self.ipv4_used}"
            if period and window_left(network(address), period) < MARGIN:
                continue
            _ip("addr", "add", f"{address}/32", "dev", self.link)
            addresses.append(address)
        return addresses

    @property
    def site_ipv6(self) -> str:
        """The container's IPv6 address (given by :meth:`ipv6`)."""
        return f"{IPV6}:{self.tb.index}::2"

    def ipv6_subnet(self, period: int, after: int = 0) -> int:
        """The number of a /64 after ``after`` with :data:`MARGIN` seconds
        left in its window of ``period`` seconds."""
        subnet = after + 1
        while window_left(f"{IPV6}:{self.tb.index}:{subnet:x}::/64", period) < MARGIN:
            subnet += 1
        return subnet

    def ipv6(self, subnet: int, host: int) -> str:
        """The client address ``host`` of /64 number ``subnet`` (1-65535)."""
        if not self.ipv6_ready:
            net = f"{IPV6}:{self.tb.index}::/48"
            _ip("-n", self.tb.name, "addr", "add", f"{self.site_ipv6}/128",
                "dev", "eth0", "nodad")  # fmt: skip
            _ip("-n", self.tb.name, "-6", "route", "add", net, "dev", "eth0")
            _ip("-6", "route", "add", f"{self.site_ipv6}/128", "dev", self.link)
            self.ipv6_ready = True
        address = f"{IPV6}:{self.tb.index}:{subnet:x}::{host:x}"
        _ip("addr", "add", f"{address}/128", "dev", self.link, "nodad")
        return address

    def session(self, source: str) -> HttpSession:
        """A client of the site from ``source`` (the site's own name for
        itself in ``Host``, whichever address family connects)."""
        if ":" in source:
            url = f"http://[{self.site_ipv6}]"
            return HttpSession(url, source=source, headers={"Host": self.tb.address})
        return HttpSession(self.tb.url, source=source)


def race(jobs: list[Callable[[], Response]], width: int = 32) -> list[Response]:
    """Run ``jobs`` on ``width`` threads, the first ``width`` released at
    once; the answers in the order of ``jobs``."""
    start = threading.Barrier(min(width, len(jobs)))

    def run(job: Callable[[], Response], index: int) -> Response:
        if index < width:
            start.wait(timeout=60)
        return job()

    with ThreadPoolExecutor(width) as pool:
        return list(pool.map(run, jobs, range(len(jobs))))
