"""Which responses Django lets nginx's micro-cache keep (``X-Accel-Expires``
until the end of the current second), and which it never may: anything a
session, a message, a cookie or a CSRF token makes personal.

nginx's side (bypass, no store, the one-second life across app hosts) is
tested on an installed site in tests/install/test_microcache.py.
"""

import re
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.urls import resolve, reverse

from ublog_posts.models import Post
from ublog_site import microcache

pytestmark = pytest.mark.django_db


@pytest.fixture
def post():
    return Post.objects.create(text="the same for everybody")


def expiry(response):
    """The second nginx may keep the page to, or None."""
    value = response.headers.get(microcache.HEADER)
    if value is None:
        return None
    assert value.startswith("@"), value
    return int(value[1:])


def test_anonymous_list_and_post_pages_live_to_the_end_of_this_second(post):
    client = Client()
    for url in (
        reverse("ublog_posts:list"),
        reverse("ublog_posts:detail", args=[post.pk]),
    ):
        before = int(time.time())
        response = client.get(url)
        after = int(time.time())
        assert response.status_code == 200
        assert before <= expiry(response) <= after, url
        assert "Set-Cookie" not in response.headers and not response.cookies
        assert b"csrfmiddlewaretoken" not in response.content


def test_head_requests_are_marked_too(post):
    response = Client().head(reverse("ublog_posts:detail", args=[post.pk]))
    assert expiry(response) is not None


def test_a_signed_in_visitor_gets_a_page_of_their_own(post):
    user = get_user_model().objects.create_user("alice", "a@example.org", "pw")
    client = Client()
    client.force_login(user)
    for url in (
        reverse("ublog_posts:list"),
        reverse("ublog_posts:detail", args=[post.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert expiry(response) is None, url
        assert b"csrfmiddlewaretoken" in response.content  # the like form


@pytest.mark.parametrize("cookie", microcache.PERSONAL_COOKIES)
def test_a_session_or_message_cookie_is_never_cached(cookie, post):
    client = Client()
    client.cookies[cookie] = "anything"
    assert expiry(client.get(reverse("ublog_posts:list"))) is None


def test_the_page_after_posting_shows_the_message_uncached():
    client = Client()
    response = client.post(
        reverse("ublog_posts:create"), {"text": "just posted"}, follow=True
    )
    assert b"just posted" in response.content
    assert expiry(response) is None  # the messages cookie came with it


@pytest.mark.parametrize(
    "path, status",
    [
        ("/accounts/login/", 200),
        ("/accounts/signup/", 200),
        ("/new/", 200),
        ("/999999/", 404),
    ],
)
def test_other_pages_and_errors_are_not_marked(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert expiry(response) is None


def test_a_page_that_used_a_csrf_token_or_set_a_cookie_is_not_marked(post):
    def list_request():
        request = RequestFactory().get(reverse("ublog_posts:list"))
        request.resolver_match = resolve(request.path)
        return request

    def with_token(request):
        get_token(request)
        return HttpResponse("a form")

    def with_cookie(request):
        response = HttpResponse("hello")
        response.set_cookie("seen", "1")
        return response

    def plain(request):
        return HttpResponse("the list")

    marked = {
        view.__name__: expiry(microcache.MicroCacheMiddleware(view)(list_request()))
        for view in (with_token, with_cookie, plain)
    }
    assert marked["with_token"] is None and marked["with_cookie"] is None
    assert marked["plain"] is not None


def test_nginx_pages_off_marks_nothing(settings, post):
    settings.UBLOG_MICROCACHE_VIEWS = ()
    assert expiry(Client().get(reverse("ublog_posts:list"))) is None


def test_nginx_paths_are_exactly_the_marked_views(post):
    """nginx's path expression lets through every URL of the marked views and
    no other URL of the site: each named URL, reversed with sample values."""
    from django.urls import get_resolver

    pattern = re.compile(microcache.NGINX_PATHS)
    samples = {"pk": post.pk, "username": "alice", "uidb64": "MQ", "token": "x-y"}
    checked = 0
    resolver = get_resolver()
    for name, entries in _named_urls(resolver):
        for params in {tuple(p) for entry in entries for _, p in entry[0]}:
            if any(param not in samples for param in params):
                continue
            url = reverse(name, kwargs={param: samples[param] for param in params})
            marked = resolve(url).view_name in settings.UBLOG_MICROCACHE_VIEWS
            assert bool(pattern.match(url)) == marked, url
            checked += 1
    assert checked > 10
    assert pattern.match("/") and pattern.match(f"/{post.pk}/")
    for other in ("/new/", "/static/x.css", "/12/edit/", "/users/alice/", "/x/1/"):
        assert not pattern.match(other), other


def _named_urls(resolver, prefix=""):
    """(namespaced name, reverse entries) of every named URL under ``resolver``."""
    for key, entries in resolver.reverse_dict.lists():
        if isinstance(key, str):
            yield prefix + key, entries
    for namespace, (_, sub) in resolver.namespace_dict.items():
        yield from _named_urls(sub, f"{prefix}{namespace}:")
