"""Rate limits on every write path: a middleware applying ``ublog_site.limits``.

A client over any limit gets 429 (the ``429.html`` page) with ``Retry-After``
and the view does not run, so nothing is saved. Only POSTs count.

The counters are written in ``process_view``, after URL resolution and the
CSRF check, outside the view: ``ATOMIC_REQUESTS`` (not set by the site
anyway) wraps the view only, so each counter statement runs in autocommit
and is visible to every other worker at once. Inside a transaction the
counts would still be exact, but a counter's row would stay locked until
the request ends.
"""

from django.shortcuts import render

from ublog_site import limits


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or request.resolver_match is None:
            return None
        retry = limits.count(request, request.resolver_match.view_name)
        if not retry:
            return None
        response = render(request, "429.html", status=429)
        response["Retry-After"] = str(retry)
        return response
