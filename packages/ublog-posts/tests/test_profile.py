"""Profiles: a user's posts and the posts they liked, paginated, linked from
every post's author name; published posts only; unknown or inactive users
are a 404."""

import re

import pytest
from django.urls import reverse

from ublog_posts.models import Like, Post

pytestmark = pytest.mark.django_db


def profile(client, username, tab="posts", **params):
    name = "ublog_posts:profile" if tab == "posts" else "ublog_posts:profile_liked"
    return client.get(reverse(name, args=[username]), params)


def texts(response):
    return [post.text for post in response.context["posts"]]


def test_a_users_posts_newest_first(client, user, other_user):
    for text in ["first", "second"]:
        Post.objects.create(text=text, owner=user)
    Post.objects.create(text="someone else's", owner=other_user)
    Post.objects.create(text="anonymous")
    Post.objects.create(text="pending", owner=user, status=Post.Status.PENDING)
    response = profile(client, "alice")
    assert response.status_code == 200
    assert texts(response) == ["second", "first"]
    content = response.content.decode()
    assert '<h1 class="ublog-profile-name">alice</h1>' in content
    assert re.search(r'aria-current="page">2 posts</a>', content)
    assert "0 liked posts" in content


def test_the_posts_a_user_liked_latest_like_first(client, user, other_user):
    older, newer, unliked = (
        Post.objects.create(text=t, owner=other_user) for t in ["older", "newer", "no"]
    )
    Like.objects.create(user=user, post=newer)
    Like.objects.create(user=user, post=older)  # liked last
    Like.objects.create(user=other_user, post=unliked)
    hidden = Post.objects.create(text="hidden", status=Post.Status.PENDING)
    Like.objects.create(user=user, post=hidden)
    response = profile(client, "alice", tab="liked")
    assert texts(response) == ["older", "newer"]
    content = response.content.decode()
    assert 'aria-current="page">2 liked posts</a>' in content
    assert "0 posts" in content


def test_profiles_are_paginated(client, user, settings):
    settings.UBLOG_POSTS_PER_PAGE = 2
    posts = [Post.objects.create(text=f"post {i}", owner=user) for i in range(5)]
    for post in posts:
        Like.objects.create(user=user, post=post)
    assert texts(profile(client, "alice", page=3)) == ["post 0"]
    assert texts(profile(client, "alice", tab="liked", page=3)) == ["post 0"]
    assert 'rel="next" href="?page=2"' in profile(client, "alice").content.decode()
    assert profile(client, "alice", page=4).status_code == 404


def test_author_names_link_to_their_profiles(client, user):
    post = Post.objects.create(text="hello", owner=user)
    Post.objects.create(text="anonymous")
    url = reverse("ublog_posts:profile", args=["alice"])
    for page in [reverse("ublog_posts:list"), post.get_absolute_url(), url]:
        content = client.get(page).content.decode()
        assert f'<a class="ublog-post-owner" href="{url}">alice</a>' in content
    assert (
        '<span class="ublog-post-owner">anonymous</span>'
        in client.get(reverse("ublog_posts:list")).content.decode()
    )


def test_usernames_with_odd_characters(client, django_user_model):
    django_user_model.objects.create_user("j.doe+blog@example", password="pw")
    url = reverse("ublog_posts:profile", args=["j.doe+blog@example"])
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("tab", ["posts", "liked"])
def test_unknown_and_inactive_users_are_404(client, user, tab):
    assert profile(client, "nobody", tab=tab).status_code == 404
    user.is_active = False
    user.save()
    assert profile(client, "alice", tab=tab).status_code == 404


def test_the_likes_of_the_visitor_are_shown(client, user, other_user):
    post = Post.objects.create(text="liked by the visitor", owner=other_user)
    Like.objects.create(user=user, post=post)
    client.force_login(user)
    response = profile(client, "bob")
    assert [p.liked for p in response.context["posts"]] == [True]
