"""A cache of the post list as anonymous visitors see it.

Every visitor who is not logged in sees the same list page for the same URL,
so its HTML is cached (``UBLOG_POSTS_LIST_CACHE_SECONDS``, 0 turns it off).
The cache keys carry a *generation*: a token kept in a cache every process
shares (``UBLOG_POSTS_LIST_GENERATION_CACHE``), replaced whenever a post or a
like is saved or deleted, once the transaction commits (but not when a new post
waits for moderation: lists show published posts only). A new generation makes
every cached page unreachable at once, in every worker, so nobody sees a
deleted post or an old like count; the pages themselves may live in a
per-process cache (``UBLOG_POSTS_LIST_CACHE``).

Only pages that carry nothing personal are cached: the visitor is anonymous,
has no session or messages cookie, and the rendered page used no CSRF token
(anonymous visitors get a link to log in instead of a like form).
"""

import hashlib
import uuid

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import get_language

from . import conf

GENERATION_KEY = "ublog_posts:list:generation"


def generation():
    """The current generation token (created when missing)."""
    cache = caches[conf.list_generation_cache()]
    token = cache.get(GENERATION_KEY)
    if token is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
        token = cache.get(GENERATION_KEY)
    return token


def new_generation():
    """Forget every cached list page (now, in every process)."""
    caches[conf.list_generation_cache()].set(GENERATION_KEY, uuid.uuid4().hex, None)


def invalidate_on_commit(sender=None, using=None, **kwargs):
    """Signal receiver: a new generation once the current transaction commits."""
    if conf.list_cache_seconds():
        transaction.on_commit(new_generation, using=using)


def cache_key(request):
    """The page's key, or None when this request must not use the cache."""
    if not conf.list_cache_seconds() or request.method not in ("GET", "HEAD"):
        return None
    if request.user.is_authenticated:
        return None
    if request.COOKIES.get(settings.SESSION_COOKIE_NAME) or request.COOKIES.get(
        "messages"
    ):
        return None
    path = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    return f"ublog_posts:list:{generation()}:{get_language()}:{path}"


def cached_response(key):
    """The cached page for *key*, as a fresh response, or None."""
    entry = caches[conf.list_cache()].get(key)
    if entry is None:
        return None
    content, content_type = entry
    return HttpResponse(content, content_type=content_type)


def store(key, request, response):
    """Keep a rendered page if it is the same for every anonymous visitor."""
    personal = request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or response.cookies
    if response.status_code != 200 or personal:
        return
    caches[conf.list_cache()].set(
        key,
        (response.content, response["Content-Type"]),
        conf.list_cache_seconds(),
    )
