"""The rate-limit rule table: which POSTs count against which limit.

The reusable apps know nothing of rate limits; the site decides here, by URL
name, what every write path costs. ``settings.UBLOG_LIMITS`` maps a limit's
name (the keys of ``[limits]`` in ublog.conf) to ``(requests, seconds)``, or
``None`` for no limit; ``upload_bytes`` is a number of bytes a day. The table
is built from the settings at each call, so a change of settings (tests)
applies at once.

Counting is django-ratelimit's ``get_usage`` on the ``counters`` cache
(``RATELIMIT_USE_CACHE``): one atomic ``add`` or ``incr`` per rule, so with
N concurrent requests and a limit L exactly min(N, L) get through.
"""

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django_ratelimit.core import get_usage

from ublog_site.client import client_address

LOGIN_VIEWS = ("ublog_accounts:login", "admin:login")
#: The views that send mail to an address given in the form.
MAIL_VIEWS = (
    "ublog_accounts:signup",
    "ublog_accounts:resend_activation",
    "ublog_accounts:password_reset",
)
CREATE = "ublog_posts:create"
EDIT = "ublog_posts:edit"
DAY = 86400


def address_key(group, request) -> str:
    """The client's network: its address cut to ``RATELIMIT_IPV4_MASK`` or
    ``RATELIMIT_IPV6_MASK`` bits (one /64 is usually one subscriber, who
    could otherwise use 2**64 addresses)."""
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return "unknown"
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 6:
        bits = getattr(settings, "RATELIMIT_IPV6_MASK", 64)
    else:
        bits = getattr(settings, "RATELIMIT_IPV4_MASK", 32)
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def user_key(group, request) -> str:
    return f"user:{request.user.pk}"


def user_or_address_key(group, request) -> str:
    if request.user.is_authenticated:
        return user_key(group, request)
    return address_key(group, request)


def _field(name: str):
    def value(request) -> str:
        return request.POST.get(name, "").strip().casefold()

    return value


def field_key(name: str):
    """Key by a POST field (casefolded): the username tried, the address a
    mail goes to, whoever sends it."""
    read = _field(name)
    return lambda group, request: f"{name}:{read(request)}"


def signed_in(request) -> bool:
    return request.user.is_authenticated


def anonymous(request) -> bool:
    return not request.user.is_authenticated


def has_upload(request) -> bool:
    return any(upload.size for upload in request.FILES.values())


def always(request) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """A limit on POSTs to ``views``, counted per ``key(group, request)``
    for requests where ``when(request)`` holds. The views share one counter,
    unless ``per_view``: then each counts on its own."""

    name: str
    views: tuple[str, ...]
    key: Callable
    rate: tuple[int, int]
    when: Callable = always
    per_view: bool = False

    def group(self, view_name: str) -> str:
        return (
            f"ublog:{self.name}:{view_name}" if self.per_view else f"ublog:{self.name}"
        )


def rules() -> list[Rule]:
    """The rules of the configured limits (those not ``off``)."""
    limits = getattr(settings, "UBLOG_LIMITS", {})
    table = [
        ("login", LOGIN_VIEWS, address_key, always, False),
        (
            "login_per_user",
            LOGIN_VIEWS,
            field_key("username"),
            _field("username"),
            False,
        ),
        ("signup", MAIL_VIEWS, address_key, always, True),
        ("mail_per_recipient", MAIL_VIEWS, field_key("email"), _field("email"), True),
        ("anonymous_post", (CREATE,), address_key, anonymous, False),
        ("user_post", (CREATE,), user_key, signed_in, False),
        ("image_post", (CREATE, EDIT), address_key, has_upload, False),
        ("like", ("ublog_posts:like",), user_or_address_key, always, False),
        ("edit", (EDIT,), user_or_address_key, always, False),
        ("delete", ("ublog_posts:delete",), user_or_address_key, always, False),
    ]
    return [
        Rule(name, views, key, limits[name], when, per_view)
        for name, views, key, when, per_view in table
        if limits.get(name)
    ]


def count(request, view_name: str) -> int:
    """Count this POST against every rule that applies; return the seconds
    until the client may retry (at least 1) when any counter is over, else 0.

    Every applicable counter is incremented before deciding, so a refused
    request costs as much as an accepted one (guessing passwords gets no
    cheaper by being refused). Then the uploaded bytes, see
    :func:`count_upload_bytes`.
    """
    retry = 0
    for rule in rules():
        if view_name not in rule.views or not rule.when(request):
            continue
        usage = get_usage(
            request,
            group=rule.group(view_name),
            key=rule.key,
            rate=rule.rate,
            method="POST",
            increment=True,
        )
        if usage and usage["should_limit"]:
            retry = max(retry, usage["time_left"], 1)
    if retry:
        return retry
    if view_name in (CREATE, EDIT):
        return count_upload_bytes(request)
    return 0


def count_upload_bytes(request) -> int:
    """Add the request's uploaded bytes to the client's daily budget
    (``UBLOG_LIMITS["upload_bytes"]``). Over budget: the bytes are given back
    (an atomic decrement), so a refused upload does not eat the budget, and
    the seconds until the day's window ends are returned."""
    budget = getattr(settings, "UBLOG_LIMITS", {}).get("upload_bytes")
    size = sum(upload.size for upload in request.FILES.values())
    if not budget or not size:
        return 0
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    now = int(time.time())
    end = now - now % DAY + DAY
    key = f"ublog:upload_bytes:{address_key(None, request)}:{end}"
    for _attempt in range(2):
        cache.add(key, 0, timeout=end - now + 5)
        try:
            total = cache.incr(key, size)
            break
        except ValueError:  # pragma: no cover (expired between add and incr)
            continue
    else:  # pragma: no cover
        return max(end - now, 1)
    if total > budget:
        cache.decr(key, size)
        return max(end - now, 1)
    return 0
