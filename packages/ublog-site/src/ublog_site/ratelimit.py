"""Per-client-address rate limits on POSTs to chosen views (sign-up, log-in).

``settings.UBLOG_RATE_LIMITS`` maps URL names to ``(requests, seconds)``
(``None``: no limit). Counters live in the default cache, shared by all
workers; a client over its limit gets 429 with ``Retry-After`` and the view
does not run. Behind the packaged nginx (unix socket, or a proxy on
loopback) the client address is the last ``X-Forwarded-For`` entry, the one
nginx appended itself; a client cannot forge it.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.urls import Resolver404, resolve

LOCAL_PROXIES = {"", "127.0.0.1", "::1"}


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if remote in LOCAL_PROXIES and forwarded:
        return forwarded.split(",")[-1].strip()
    return remote


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            limited = self.over_limit(request)
            if limited:
                response = render(request, "429.html", status=429)
                response["Retry-After"] = str(limited)
                return response
        return self.get_response(request)

    def over_limit(self, request) -> int:
        """Seconds until the client may retry, or 0 when within the limit."""
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return 0
        rule = getattr(settings, "UBLOG_RATE_LIMITS", {}).get(match.view_name)
        if not rule:
            return 0
        allowed, period = rule
        now = int(time.time())
        window = now - now % period
        key = f"ublog-rl:{match.view_name}:{client_address(request)}:{window}"
        cache.add(key, 0, timeout=period)
        try:
            count = cache.incr(key)
        except ValueError:  # pragma: no cover (expired between add and incr)
            cache.add(key, 1, timeout=period)
            count = 1
        if count > allowed:
            return window + period - now
        return 0
