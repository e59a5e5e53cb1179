"""The anonymous list-page cache: hits, misses and invalidation."""

import pytest
from django.core.cache import caches
from django.urls import reverse

from tests.helpers import image_bytes, upload
from ublog_posts import list_cache
from ublog_posts.models import Like, Post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cache_on")]

LIST = reverse("ublog_posts:list")


def test_second_anonymous_visit_is_served_without_queries(
    client, django_assert_num_queries
):
    Post.objects.create(text="cached post", image=upload(image_bytes()))
    first = client.get(LIST)
    assert b"cached post" in first.content
    with django_assert_num_queries(0):
        second = client.get(LIST)
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == "text/html; charset=utf-8"
    with django_assert_num_queries(0):
        assert client.head(LIST).status_code == 200


def test_pages_and_searches_are_cached_apart(client, settings):
    settings.UBLOG_POSTS_PER_PAGE = 1
    Post.objects.create(text="older")
    Post.objects.create(text="newer")
    assert b"newer" in client.get(LIST).content
    page2 = client.get(LIST, {"page": 2}).content
    assert b"older" in page2 and b"newer" not in page2
    assert b"older" in client.get(LIST, {"q": "old"}).content
    assert b"newer" in client.get(LIST).content


@pytest.mark.parametrize(
    "change",
    ["create", "edit", "delete", "like", "unlike"],
)
def test_every_change_is_visible_at_once(client, user, on_commit, change):
    post = Post.objects.create(text="original text", owner=user)
    like = Like.objects.create(post=post, user=user) if change == "unlike" else None
    before = client.get(LIST).content.decode()
    with on_commit():
        if change == "create":
            Post.objects.create(text="a brand new post")
        elif change == "edit":
            post.text = "edited text"
            post.save()
        elif change == "delete":
            post.delete()
        elif change == "like":
            Like.objects.create(post=post, user=user)
        else:
            like.delete()
    after = client.get(LIST).content.decode()
    assert after != before
    expected = {
        "create": "a brand new post",
        "edit": "edited text",
        "delete": "No posts yet.",
        "like": '<span class="ublog-like-count">1</span>',
        "unlike": '<span class="ublog-like-count">0</span>',
    }[change]
    assert expected in after


def test_a_change_through_the_views_invalidates(client, on_commit):
    client.get(LIST)
    with on_commit():
        client.post(reverse("ublog_posts:create"), {"text": "posted via the form"})
    assert b"posted via the form" in client.get(LIST).content


def test_rolled_back_changes_keep_the_cache(client):
    # Without a commit the generation stays: nobody sees uncommitted rows
    # through the cache, and the cache is not thrown away for nothing.
    Post.objects.create(text="first")
    client.get(LIST)
    token = list_cache.generation()
    Post.objects.create(text="never committed")
    assert list_cache.generation() == token


def test_logged_in_users_are_never_served_from_the_cache(
    client, user, django_assert_num_queries
):
    Post.objects.create(text="x")
    client.get(LIST)  # the anonymous page is now cached
    client.force_login(user)
    response = client.get(LIST)
    assert b"csrfmiddlewaretoken" in response.content  # a real like form
    with django_assert_num_queries(4):
        client.get(LIST)


def test_visitors_with_messages_or_sessions_are_not_served_from_cache(
    client, django_assert_num_queries
):
    Post.objects.create(text="x")
    client.get(LIST)
    client.cookies["messages"] = "something"
    with django_assert_num_queries(2):
        client.get(LIST)
    del client.cookies["messages"]
    client.cookies["sessionid"] = "s" * 32
    with django_assert_num_queries(3):  # the session lookup too
        client.get(LIST)


def test_pages_that_set_cookies_are_not_stored(client):
    class FakeRequest:
        META = {"CSRF_COOKIE_NEEDS_UPDATE": True}

    response = client.get(LIST)
    list_cache.store("k-csrf", FakeRequest, response)
    FakeRequest.META = {}
    response.set_cookie("x", "1")
    list_cache.store("k-cookie", FakeRequest, response)
    assert caches["default"].get_many(["k-csrf", "k-cookie"]) == {}


def test_errors_are_not_stored(client, django_assert_num_queries):
    assert client.get(LIST, {"page": 99}).status_code == 404
    with django_assert_num_queries(1):  # the count, again
        assert client.get(LIST, {"page": 99}).status_code == 404


def test_off_when_seconds_is_zero(client, settings, django_assert_num_queries):
    settings.UBLOG_POSTS_LIST_CACHE_SECONDS = 0
    client.get(LIST)
    with django_assert_num_queries(1):  # empty table: only the count
        client.get(LIST)


def test_generation_survives_an_evicted_token(settings):
    token = list_cache.generation()
    assert list_cache.generation() == token
    caches["default"].delete(list_cache.GENERATION_KEY)
    assert list_cache.generation() not in (None, token)
    list_cache.new_generation()
    assert list_cache.generation() != token
