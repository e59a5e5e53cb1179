"""Which pages nginx may keep, and for how long: its micro-cache.

nginx stores nothing on its own account: the site's ``proxy_ignore_headers``
drop Cache-Control, Expires and Vary (system/nginx_site.py), so a response is
cached only when Django answers it with ``X-Accel-Expires: @T``, *T* being
the current second (Unix time). nginx serves the page until that second is
over, never into the next: whatever is left of the second, at most one. A
write is therefore seen by every visitor, on every app host, within a second
(plus the time of the one request that refreshes the page, see
``proxy_cache_use_stale updating``), with no purge and no message between
hosts. A generation in the key would need nginx to read shared state, which
it cannot without a scripting module; a relative validity (``1``) lasts up
to two seconds, nginx counting whole seconds.

The header goes on a 200 to a GET or HEAD of the views named in
``UBLOG_MICROCACHE_VIEWS`` (the list and a post's page), when the request
carries neither a session nor a messages cookie, and the response sets no
cookie and used no CSRF token: a page that is the same for every anonymous
visitor. nginx, for its part, bypasses every request with those cookies and
never stores a response with Set-Cookie: two locks on one door.
"""

import time

from django.conf import settings

# What nginx is told (the site file has no other source): the personal
# cookies and the paths that may be kept.
from .system.nginx_site import NGINX_PATHS, PERSONAL_COOKIES  # noqa: F401

#: The header nginx reads (and does not pass on to the client).
HEADER = "X-Accel-Expires"


def cacheable(request, response) -> bool:
    """Whether ``response`` is the same for every anonymous visitor."""
    match = getattr(request, "resolver_match", None)
    return (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and match is not None
        and match.view_name in settings.UBLOG_MICROCACHE_VIEWS
        and not any(request.COOKIES.get(name) for name in PERSONAL_COOKIES)
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not response.has_header("Set-Cookie")
    )


class MicroCacheMiddleware:
    """Mark the pages nginx may keep until the end of the current second."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.UBLOG_MICROCACHE_VIEWS and cacheable(request, response):
            response[HEADER] = f"@{int(time.time())}"
        return response
