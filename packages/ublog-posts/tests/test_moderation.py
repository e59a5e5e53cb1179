"""Anonymous posts: the open, moderated and closed modes, what is recorded about
anonymous posters, and who sees a post waiting for moderation."""

import logging

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.helpers import image_bytes, upload
from ublog_posts import conf, list_cache, moderation
from ublog_posts.checks import check_settings
from ublog_posts.models import Like, Post

pytestmark = pytest.mark.django_db

LIST = reverse("ublog_posts:list")
CREATE = reverse("ublog_posts:create")
PENDING_NOTICE = b"Waiting for moderation"
THANKS = b"Thank you! Your post will be shown once a moderator approves it."


def like_url(post):
    return reverse("ublog_posts:like", args=[post.pk])


def forwarded_for(request):
    """A site's client address function: the last X-Forwarded-For entry."""
    return request.headers.get("X-Forwarded-For", "").split(",")[-1]


NOT_CALLABLE = "not a function"


@pytest.fixture
def moderated(settings):
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = "moderated"


@pytest.fixture
def pending(client, moderated):
    """A post waiting for moderation, sent by ``client`` (which keeps its
    session)."""
    client.post(CREATE, {"text": "Pending words"}, REMOTE_ADDR="198.51.100.4")
    return Post.objects.get(text="Pending words")


# the settings ---------------------------------------------------------------


def test_anonymous_posts_default_is_open(settings):
    if hasattr(settings, "UBLOG_POSTS_ANONYMOUS_POSTS"):
        del settings.UBLOG_POSTS_ANONYMOUS_POSTS
    assert conf.anonymous_posts() == "open"


@pytest.mark.parametrize("mode", ["open", "moderated", "closed"])
def test_anonymous_posts_modes(settings, mode):
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = mode
    assert conf.anonymous_posts() == mode
    assert check_settings() == []


@pytest.mark.parametrize("mode", ["Open", "moderate", "", None, True, ["open"]])
def test_bad_anonymous_posts_mode(settings, client, mode):
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = mode
    with pytest.raises(ImproperlyConfigured) as info:
        conf.anonymous_posts()
    message = str(info.value)
    assert "UBLOG_POSTS_ANONYMOUS_POSTS" in message
    assert "'open', 'moderated' or 'closed'" in message
    assert repr(mode) in message
    # A request meets it too, rather than guessing a mode.
    with pytest.raises(ImproperlyConfigured):
        client.get(CREATE)
    [error] = check_settings()
    assert (error.id, error.level, error.msg) == (
        "ublog_posts.E001",
        checks.ERROR,
        message,
    )


def test_system_check_reports_bad_settings(settings):
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = "sometimes"
    settings.UBLOG_POSTS_CLIENT_ADDRESS = "no.such.module.address"
    settings.UBLOG_POSTS_IMAGE_FORMATS = ["PNG", "BMP"]
    errors = [e for e in checks.run_checks() if e.id.startswith("ublog_posts.")]
    assert [e.id for e in errors] == [
        "ublog_posts.E001",
        "ublog_posts.E002",
        "ublog_posts.E003",
    ]
    assert "not BMP" in errors[2].msg


def test_client_address_default_is_remote_addr(settings):
    if hasattr(settings, "UBLOG_POSTS_CLIENT_ADDRESS"):
        del settings.UBLOG_POSTS_CLIENT_ADDRESS
    assert conf.client_address() is moderation.remote_addr
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1")
    assert moderation.client_address(request) == "192.0.2.1"
    del request.META["REMOTE_ADDR"]
    assert moderation.client_address(request) is None


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (42, "must be the dotted path of a function"),
        (forwarded_for, "must be the dotted path of a function"),
        ("no.such.module.address", "cannot be imported"),
        ("tests.test_moderation.missing", "cannot be imported"),
        ("nodots", "cannot be imported"),
        ("tests.test_moderation.NOT_CALLABLE", "is not a function of the request"),
    ],
)
def test_bad_client_address_setting(settings, path, words):
    settings.UBLOG_POSTS_CLIENT_ADDRESS = path
    with pytest.raises(ImproperlyConfigured) as info:
        conf.client_address()
    assert "UBLOG_POSTS_CLIENT_ADDRESS" in str(info.value)
    assert words in str(info.value)
    [error] = check_settings()
    assert error.id == "ublog_posts.E002"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9\n", "203.0.113.9"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::1"),
        ("", None),
        (None, None),
    ],
)
def test_client_address_is_normalized(settings, value, expected):
    settings.UBLOG_POSTS_CLIENT_ADDRESS = "tests.test_moderation.forwarded_for"
    request = RequestFactory().get("/")
    request.META["HTTP_X_FORWARDED_FOR"] = value
    if value is None:
        del request.META["HTTP_X_FORWARDED_FOR"]
    assert moderation.client_address(request) == expected


@pytest.mark.parametrize("value", ["unknown", "203.0.113.9:443", "[2001:db8::1]"])
def test_client_address_that_is_no_address_is_not_recorded(settings, caplog, value):
    settings.UBLOG_POSTS_CLIENT_ADDRESS = "tests.test_moderation.forwarded_for"
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=value)
    with caplog.at_level(logging.WARNING, logger="ublog_posts.moderation"):
        assert moderation.client_address(request) is None
    assert "Not an IP address" in caplog.text


def test_custom_client_address_is_recorded(settings, client):
    settings.UBLOG_POSTS_CLIENT_ADDRESS = "tests.test_moderation.forwarded_for"
    client.post(
        CREATE,
        {"text": "behind a proxy"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.23",
    )
    assert Post.objects.get().poster_address == "198.51.100.23"


def test_poster_token_without_sessions():
    request = RequestFactory().get("/")
    assert moderation.poster_token(request) == ""
    assert moderation.poster_token(request, create=True) == ""


# creating posts in each mode --------------------------------------------------


@pytest.mark.parametrize("mode", ["open", "moderated", "closed"])
def test_logged_in_users_post_at_once_in_every_mode(settings, client, user, mode):
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = mode
    client.force_login(user)
    assert client.get(CREATE).status_code == 200
    response = client.post(CREATE, {"text": "mine"}, follow=True)
    post = Post.objects.get()
    assert response.redirect_chain == [(post.get_absolute_url(), 302)]
    assert (post.owner, post.status) == (user, Post.Status.PUBLISHED)
    # Nothing about the connection is kept for logged-in users.
    assert (post.poster_address, post.poster_session) == (None, "")
    assert THANKS not in response.content
    assert PENDING_NOTICE not in response.content
    assert b"mine" in client.get(LIST).content


def test_open_anonymous_post_is_published_and_recorded(settings, client, media_root):
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = "open"
    response = client.post(
        CREATE,
        {
            "text": "anyone may",
            "image_alt": "A test image",
            "image": upload(image_bytes()),
        },
        REMOTE_ADDR="203.0.113.5",
    )
    post = Post.objects.get()
    assert response.status_code == 302
    assert response.url == post.get_absolute_url()
    assert post.owner is None
    assert post.is_published
    assert post.poster_address == "203.0.113.5"
    # The visitor now has a session, whose token the post remembers.
    assert client.session[moderation.POSTER_SESSION_KEY] == post.poster_session
    assert len(post.poster_session) == 32
    assert post.poster_session != client.session.session_key
    assert b"anyone may" in Client().get(LIST).content


def test_one_session_keeps_its_token(client):
    client.post(CREATE, {"text": "one"})
    client.post(CREATE, {"text": "two"})
    Client().post(CREATE, {"text": "three"})
    tokens = dict(Post.objects.values_list("text", "poster_session"))
    assert tokens["one"] == tokens["two"] != tokens["three"]


def test_moderated_anonymous_post_waits(client, moderated, media_root):
    response = client.post(
        CREATE,
        {
            "text": "Please approve",
            "image_alt": "A test image",
            "image": upload(image_bytes()),
        },
        REMOTE_ADDR="2001:db8::7",
        follow=True,
    )
    post = Post.objects.get()
    assert response.redirect_chain == [(post.get_absolute_url(), 302)]
    assert post.status == Post.Status.PENDING
    assert not post.is_published
    assert (post.owner, post.poster_address) == (None, "2001:db8::7")
    assert post.poster_session == client.session[moderation.POSTER_SESSION_KEY]
    assert (media_root / post.image.name).is_file()
    # The message after posting, and the notice on the post itself.
    assert THANKS in response.content
    assert b'class="ublog-messages"' in response.content
    assert PENDING_NOTICE in response.content
    assert b"Please approve" in response.content


def test_moderated_form_errors_save_nothing(client, moderated):
    response = client.post(CREATE, {"text": ""})
    assert response.status_code == 200
    assert not Post.objects.exists()
    assert THANKS not in response.content


@pytest.mark.parametrize("method", ["get", "post", "head"])
def test_closed_sends_anonymous_visitors_to_log_in(settings, client, method):
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = "closed"
    data = {"text": "let me in"} if method == "post" else {}
    response = getattr(client, method)(CREATE, data)
    assert response.status_code == 302
    assert response.url == f"/login/?next={CREATE}"
    assert not Post.objects.exists()
    assert "sessionid" not in client.cookies


def test_closed_keeps_the_new_post_link_and_405(settings, client):
    settings.UBLOG_POSTS_ANONYMOUS_POSTS = "closed"
    assert f'href="{CREATE}"'.encode() in client.get(LIST).content
    assert client.put(CREATE).status_code == 405


# who sees a post waiting for moderation --------------------------------------


def test_pending_post_is_in_no_list_search_or_count(client, pending, settings):
    settings.UBLOG_POSTS_PER_PAGE = 1
    Post.objects.create(text="Published words")
    for visitor in (client, Client()):
        response = visitor.get(LIST)
        assert b"Pending words" not in response.content
        assert b"Published words" in response.content
        assert response.context["paginator"].count == 1
        assert not response.context["is_paginated"]
        response = visitor.get(LIST, {"q": "pending"})
        assert list(response.context["posts"]) == []
        assert b"No posts match your search." in response.content


def test_the_session_that_posted_sees_its_pending_post(client, pending):
    response = client.get(pending.get_absolute_url())
    assert response.status_code == 200
    assert b"Pending words" in response.content
    assert PENDING_NOTICE in response.content
    assert "private" in response["Cache-Control"]
    # No like button on a post nobody else can see.
    assert like_url(pending).encode() not in response.content


def test_other_visitors_get_a_404(client, pending, user, staff_user):
    assert Client().get(pending.get_absolute_url()).status_code == 404
    # Another session of the same address is another poster.
    other = Client(REMOTE_ADDR="198.51.100.4")
    assert other.get(pending.get_absolute_url()).status_code == 404
    for someone in (user, staff_user):  # is_staff alone does not moderate
        other = Client()
        other.force_login(someone)
        assert other.get(pending.get_absolute_url()).status_code == 404


def test_a_forged_poster_token_sees_nothing(client, pending):
    other = Client()
    session = other.session
    session[moderation.POSTER_SESSION_KEY] = "0" * 32
    session.save()
    assert other.get(pending.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("who", ["moderator", "admin_user"])
def test_moderators_see_pending_posts(pending, request, who):
    other = Client()
    other.force_login(request.getfixturevalue(who))
    response = other.get(pending.get_absolute_url())
    assert response.status_code == 200
    assert PENDING_NOTICE in response.content
    assert b"Pending words" not in other.get(LIST).content


def test_poster_who_logs_in_still_sees_the_post(client, pending, user):
    client.force_login(user)  # the session key changes, its data stays
    assert client.get(pending.get_absolute_url()).status_code == 200
    client.logout()
    assert client.get(pending.get_absolute_url()).status_code == 404


def test_owner_sees_own_pending_post(client, user, other_user):
    post = Post.objects.create(text="held", owner=user, status=Post.Status.PENDING)
    client.force_login(user)
    assert client.get(post.get_absolute_url()).status_code == 200
    assert client.get(reverse("ublog_posts:edit", args=[post.pk])).status_code == 200
    client.force_login(other_user)
    assert client.get(post.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("action", ["edit", "delete"])
def test_hidden_posts_are_404_not_403_on_edit_and_delete(client, pending, user, action):
    other = Client()
    other.force_login(user)
    url = reverse(f"ublog_posts:{action}", args=[pending.pk])
    assert other.get(url).status_code == 404
    assert other.post(url, {"text": "x"}).status_code == 404
    # Its poster may see it, but nobody may change an anonymous post.
    client.force_login(user)
    assert client.get(url).status_code == 403
    assert Post.objects.get().text == "Pending words"


def test_pending_posts_cannot_be_liked(client, pending, user):
    other = Client()
    other.force_login(user)
    url = like_url(pending)
    assert other.post(url, HTTP_ACCEPT="application/json").status_code == 404
    assert other.post(url).status_code == 404
    assert other.get(url).status_code == 404
    # Not even by the session that sent it.
    assert client.post(url).status_code == 404
    assert not Like.objects.exists()


def test_is_visible_to():
    post = Post(text="x", status=Post.Status.PENDING, poster_session="a" * 32)
    assert not post.is_visible_to(None)
    assert not post.is_visible_to(AnonymousUser())
    assert not post.is_visible_to(AnonymousUser(), "")
    assert not post.is_visible_to(AnonymousUser(), "b" * 32)
    assert post.is_visible_to(AnonymousUser(), "a" * 32)
    assert Post(text="x").is_visible_to(None)
    # A post without token is not shown to a session without one.
    assert not Post(text="x", status=Post.Status.PENDING).is_visible_to(None, "")


def test_new_posts_are_published_by_default():
    assert Post.objects.create(text="x").status == Post.Status.PUBLISHED


# approval and the list cache ---------------------------------------------------


def test_approval_shows_the_post(client, pending, on_commit, cache_on):
    visitor = Client()
    assert b"Pending words" not in visitor.get(LIST).content
    with on_commit():
        assert Post.objects.all().publish() == 1
    pending.refresh_from_db()
    assert pending.is_published
    assert b"Pending words" in visitor.get(LIST).content  # not the cached page
    response = visitor.get(pending.get_absolute_url())
    assert response.status_code == 200
    assert PENDING_NOTICE not in response.content
    assert "Cache-Control" not in response
    assert visitor.get(like_url(pending)).status_code == 302


def test_publishing_nothing_keeps_the_cache(post, on_commit, cache_on):
    token = list_cache.generation()
    with on_commit():
        assert Post.objects.all().publish() == 0
    assert list_cache.generation() == token


def test_a_new_pending_post_keeps_the_cache(client, moderated, on_commit, cache_on):
    Post.objects.create(text="already there")
    visitor = Client()
    first = visitor.get(LIST).content
    token = list_cache.generation()
    with on_commit():
        client.post(CREATE, {"text": "spam spam spam"})
    assert Post.objects.get(text="spam spam spam").status == Post.Status.PENDING
    assert list_cache.generation() == token
    assert visitor.get(LIST).content == first


def test_unpublishing_a_post_forgets_the_cache(post, on_commit, cache_on):
    assert b"Hello from Alice" in Client().get(LIST).content
    with on_commit():
        post.status = Post.Status.PENDING
        post.save()
    assert b"Hello from Alice" not in Client().get(LIST).content
