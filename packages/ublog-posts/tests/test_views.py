"""Views: list, detail, create, edit, delete, like."""

import re

import pytest
from django.urls import reverse

from tests.helpers import image_bytes, upload
from ublog_posts.models import Like, Post

pytestmark = pytest.mark.django_db

LIST = reverse("ublog_posts:list")
CREATE = reverse("ublog_posts:create")


def edit_url(post):
    return reverse("ublog_posts:edit", args=[post.pk])


def delete_url(post):
    return reverse("ublog_posts:delete", args=[post.pk])


def like_url(post):
    return reverse("ublog_posts:like", args=[post.pk])


JSON = {"HTTP_ACCEPT": "application/json"}


# list ---------------------------------------------------------------------


def test_list_empty(client):
    response = client.get(LIST)
    assert response.status_code == 200
    assert b"No posts yet." in response.content
    assert b'<html lang="en">' in response.content
    assert b"/static/ublog_posts/posts.css" in response.content
    assert b"/static/ublog_posts/like.js" in response.content


def test_list_shows_posts_escaped_with_linebreaks(client):
    Post.objects.create(text="<script>alert(1)</script>\nsecond line")
    response = client.get(LIST)
    content = response.content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in content
    assert "anonymous" in content


def post_with_image(client, size=(1600, 900), alt="A sunset over the sea"):
    """A post with an image, published through the form (re-encoded)."""
    content = image_bytes("JPEG", size=size)
    response = client.post(
        CREATE, {"text": "pic", "image_alt": alt, "image": upload(content)}
    )
    assert response.status_code == 302
    return Post.objects.latest("pk")


def test_list_shows_thumbnail_with_its_size_and_the_authors_description(client):
    post = post_with_image(client)
    content = client.get(LIST).content.decode()
    thumbnail, image = f"/media/{post.thumbnail.name}", f"/media/{post.image.name}"
    assert f'src="{thumbnail}" width="640" height="360"' in content
    assert f'srcset="{thumbnail} 640w, {image} 1600w"' in content
    # The link to the post is named by the image's description.
    link = re.search(
        r'<a class="ublog-post-image" href="([^"]+)">\s*<img ([^>]+)>', content
    )
    assert link[1] == post.get_absolute_url()
    assert 'alt="A sunset over the sea"' in link[2]
    assert image not in content.replace(f"{image} 1600w", "")


def test_small_image_has_no_srcset(client):
    post_with_image(client, size=(300, 200))
    content = client.get(LIST).content.decode()
    assert 'width="300" height="200"' in content
    assert "srcset" not in content


def test_image_stored_before_processing_is_shown_whole(client):
    """Until ``processimages`` runs: the image itself, and the text as alt."""
    post = Post.objects.create(text="An old\npicture", image=upload(image_bytes()))
    content = client.get(LIST).content.decode()
    assert (
        f'src="/media/{post.image.name}" alt="Image of the post “An old picture”"'
        in (content)
    )


def test_list_search(client):
    Post.objects.create(text="I like Django")
    Post.objects.create(text="Pillow is nice")
    response = client.get(LIST, {"q": "  djANGO "})
    assert [p.text for p in response.context["posts"]] == ["I like Django"]
    assert response.context["q"] == "djANGO"
    assert b'value="djANGO"' in response.content
    response = client.get(LIST, {"q": "nothing"})
    assert b"No posts match your search." in response.content


def test_list_search_with_nul_matches_nothing(client):
    Post.objects.create(text="ab")
    response = client.get(LIST, {"q": "a\x00b"})
    assert response.status_code == 200
    assert list(response.context["posts"]) == []
    assert b"No posts match your search." in response.content


def test_list_pagination_preserves_query(client, settings):
    settings.UBLOG_POSTS_PER_PAGE = 2
    for i in range(5):
        Post.objects.create(text=f"match {i}")
    Post.objects.create(text="other")
    response = client.get(LIST, {"q": "match & more"})
    assert not response.context["is_paginated"]
    response = client.get(LIST, {"q": "match"})
    assert len(response.context["posts"]) == 2
    assert response.context["paginator"].num_pages == 3
    assert b'href="?q=match&amp;page=2"' in response.content
    response = client.get(LIST, {"q": "match", "page": 2})
    assert b'href="?q=match&amp;page=1"' in response.content
    assert b'href="?q=match&amp;page=3"' in response.content
    response = client.get(LIST, {"page": 3})
    assert [p.text for p in response.context["posts"]] == ["match 1", "match 0"]
    assert b'href="?page=2"' in response.content


@pytest.mark.parametrize("page", ["0", "99", "abc", "-1", "1.5"])
def test_list_invalid_page_is_404(client, page):
    Post.objects.create(text="one")
    assert client.get(LIST, {"page": page}).status_code == 404


def test_list_last_page(client):
    Post.objects.create(text="one")
    assert client.get(LIST, {"page": "last"}).status_code == 200


@pytest.mark.parametrize("count", [1, 15])
def test_list_constant_queries(
    client, user, other_user, count, django_assert_num_queries
):
    for i in range(count):
        post = Post.objects.create(
            text=f"post {i}", owner=user if i % 2 else None, image=upload(image_bytes())
        )
        Like.objects.create(user=other_user, post=post)
        if i % 3 == 0:
            Like.objects.create(user=user, post=post)
    client.force_login(user)
    # session, user, count, page of posts (with owners, counts and likes).
    with django_assert_num_queries(4):
        response = client.get(LIST)
    posts = list(response.context["posts"])
    assert len(posts) == count
    assert posts[-1].like_count == 2 and posts[-1].liked is True
    if count > 1:
        assert posts[-2].like_count == 1 and posts[-2].liked is False


def test_list_anonymous_constant_queries(client, django_assert_num_queries):
    for i in range(3):
        Post.objects.create(text=f"post {i}")
    with django_assert_num_queries(2):
        client.get(LIST)


def test_like_state_rendered(client, user, post):
    Like.objects.create(user=user, post=post)
    client.force_login(user)
    content = client.get(LIST).content.decode()
    assert 'aria-pressed="true"' in content
    assert '<span class="ublog-like-count">1</span>' in content
    assert f'action="{like_url(post)}"' in content
    assert 'name="next" value="/"' in content
    assert "csrfmiddlewaretoken" in content
    assert f'href="{edit_url(post)}"' in content


def test_edit_links_only_for_owner(client, other_user, post):
    client.force_login(other_user)
    content = client.get(LIST).content.decode()
    assert edit_url(post) not in content
    assert 'aria-pressed="false"' in content


# detail -------------------------------------------------------------------


def test_detail(client, post):
    response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    assert response.context["post"] == post
    assert b"Hello from Alice" in response.content
    assert b"alice" in response.content


def test_detail_with_image_links_full_image(client):
    post = post_with_image(client, alt="Two cats")
    content = client.get(post.get_absolute_url()).content.decode()
    image = f"/media/{post.image.name}"
    assert f'<a class="ublog-post-image" href="{image}">' in content
    assert f'<img src="{image}" width="1600" height="900" alt="Two cats">' in content
    assert post.thumbnail.name not in content


def test_detail_missing_is_404(client):
    assert client.get(reverse("ublog_posts:detail", args=[999])).status_code == 404


# create -------------------------------------------------------------------


def test_create_form_page(client):
    response = client.get(CREATE)
    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content
    assert b"New post" in response.content


def test_anonymous_create(client, media_root):
    response = client.post(
        CREATE,
        {"text": "anon", "image_alt": "A test image", "image": upload(image_bytes())},
    )
    post = Post.objects.get()
    assert response.status_code == 302
    assert response.url == post.get_absolute_url()
    assert post.owner is None
    assert (media_root / post.image.name).is_file()


def test_authenticated_create_sets_owner(client, user):
    client.force_login(user)
    client.post(CREATE, {"text": "mine"})
    assert Post.objects.get().owner == user


def test_create_text_too_long_shows_error(client):
    response = client.post(CREATE, {"text": "x" * 1001})
    assert response.status_code == 200
    assert b"at most 1000 characters" in response.content
    assert not Post.objects.exists()


def test_create_bad_image_shows_error(client):
    response = client.post(
        CREATE,
        {"text": "x", "image_alt": "A test image", "image": upload(b"GIF89a nope")},
    )
    assert response.status_code == 200
    assert b"Upload a valid image" in response.content
    assert not Post.objects.exists()


def test_create_put_not_allowed(client):
    assert client.put(CREATE).status_code == 405


# edit and delete permissions ------------------------------------------------


@pytest.mark.parametrize("url", [edit_url, delete_url])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_redirected_to_login(client, post, url, method):
    response = getattr(client, method)(url(post))
    assert response.status_code == 302
    assert response.url == f"/login/?next={url(post)}"
    assert Post.objects.get().text == "Hello from Alice"


@pytest.mark.parametrize("url", [edit_url, delete_url])
@pytest.mark.parametrize("method", ["get", "post"])
def test_other_user_forbidden(client, other_user, post, url, method):
    client.force_login(other_user)
    response = getattr(client, method)(url(post), {"text": "hacked"})
    assert response.status_code == 403
    assert Post.objects.get().text == "Hello from Alice"


@pytest.mark.parametrize("url", [edit_url, delete_url])
@pytest.mark.parametrize("method", ["get", "post"])
def test_ownerless_post_forbidden(client, user, anonymous_post, url, method):
    client.force_login(user)
    response = getattr(client, method)(url(anonymous_post), {"text": "hacked"})
    assert response.status_code == 403
    assert Post.objects.get().text == "Nobody's post"


@pytest.mark.parametrize("url", [edit_url, delete_url])
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_not_allowed(client, user, post, url, method):
    client.force_login(user)
    response = getattr(client, method)(url(post))
    assert response.status_code == 405
    assert Post.objects.get().text == "Hello from Alice"


def test_owner_edits(client, user, post):
    client.force_login(user)
    response = client.get(edit_url(post))
    assert response.status_code == 200
    assert b"Edit post" in response.content
    assert b"Hello from Alice" in response.content
    response = client.post(edit_url(post), {"text": "Edited"})
    assert response.status_code == 302
    assert response.url == post.get_absolute_url()
    post.refresh_from_db()
    assert post.text == "Edited"
    assert post.owner == user


def test_owner_edit_invalid(client, user, post):
    client.force_login(user)
    response = client.post(edit_url(post), {"text": ""})
    assert response.status_code == 200
    assert b"This field is required." in response.content


def test_edit_missing_post_is_404(client, user):
    client.force_login(user)
    assert client.get(reverse("ublog_posts:edit", args=[999])).status_code == 404


def test_delete_get_shows_confirmation(client, user, post):
    client.force_login(user)
    response = client.get(delete_url(post))
    assert response.status_code == 200
    assert b"Do you really want to delete this post?" in response.content
    assert b'method="post"' in response.content
    assert Post.objects.exists()


def test_owner_deletes_with_image(
    client, user, media_root, django_capture_on_commit_callbacks
):
    post = Post.objects.create(text="pic", owner=user, image=upload(image_bytes()))
    path = media_root / post.image.name
    assert path.is_file()
    client.force_login(user)
    assert b"<img" in client.get(delete_url(post)).content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(delete_url(post))
    assert response.status_code == 302
    assert response.url == LIST
    assert not Post.objects.exists()
    assert not path.exists()


# likes ----------------------------------------------------------------------


def test_like_toggle_json(client, user, post):
    client.force_login(user)
    response = client.post(like_url(post), **JSON)
    assert response.status_code == 200
    assert response.json() == {"liked": True, "count": 1}
    assert Like.objects.filter(user=user, post=post).exists()
    response = client.post(like_url(post), **JSON)
    assert response.json() == {"liked": False, "count": 0}
    assert not Like.objects.exists()


def test_like_counts_other_users(client, user, other_user, post):
    Like.objects.create(user=other_user, post=post)
    client.force_login(user)
    assert client.post(like_url(post), **JSON).json() == {"liked": True, "count": 2}


def test_like_form_fallback_redirects_to_next(client, user, post):
    client.force_login(user)
    response = client.post(like_url(post), {"next": "/?q=hello&page=2"})
    assert response.status_code == 302
    assert response.url == "/?q=hello&page=2"
    assert Like.objects.count() == 1


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "", "javascript:x"]
)
def test_like_unsafe_next_ignored(client, user, post, next_url):
    client.force_login(user)
    response = client.post(like_url(post), {"next": next_url})
    assert response.status_code == 302
    assert response.url == post.get_absolute_url()


def test_like_anonymous_json_403(client, post):
    response = client.post(like_url(post), {"next": "/?page=2"}, **JSON)
    assert response.status_code == 403
    assert response.json() == {
        "error": "login_required",
        "login_url": "/login/?next=/%3Fpage%3D2",
    }
    assert not Like.objects.exists()


def test_like_anonymous_form_redirects_to_login(client, post):
    response = client.post(like_url(post))
    assert response.status_code == 302
    assert response.url == f"/login/?next={post.get_absolute_url()}"


def test_like_get_changes_nothing(client, user, post):
    # Anonymous visitors follow the like link to the login page, with next.
    response = client.get(like_url(post), {"next": "/?page=2"})
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/%3Fpage%3D2"
    response = client.get(like_url(post), {"next": "https://evil.example/"})
    assert response["Location"] == f"/login/?next=/{post.pk}/"
    client.force_login(user)
    response = client.get(like_url(post), {"next": "/?page=2"})
    assert (response.status_code, response["Location"]) == (302, "/?page=2")
    assert not Like.objects.exists()


def test_anonymous_list_has_like_links_not_forms(client, post):
    response = client.get(LIST)
    content = response.content.decode()
    assert f'href="{like_url(post)}?next=%2F"' in content
    assert "csrfmiddlewaretoken" not in content
    assert "csrftoken" not in response.cookies


@pytest.mark.parametrize("method", ["put", "delete"])
def test_like_other_methods_not_allowed(client, user, post, method):
    client.force_login(user)
    assert getattr(client, method)(like_url(post)).status_code == 405
    assert not Like.objects.exists()


def test_like_missing_post_is_404(client, user):
    client.force_login(user)
    url = reverse("ublog_posts:like", args=[999])
    assert client.post(url, **JSON).status_code == 404


def test_like_requires_csrf(user, post):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(like_url(post), **JSON).status_code == 403
    page = client.get(post.get_absolute_url())
    token = page.cookies["csrftoken"].value
    response = client.post(like_url(post), HTTP_X_CSRFTOKEN=token, **JSON)
    assert response.json() == {"liked": True, "count": 1}


def test_like_race_lost(client, user, post, monkeypatch):
    """If a concurrent request created the like first, the result is 'liked'."""
    from django.db import IntegrityError

    def create(**kwargs):
        raise IntegrityError

    client.force_login(user)
    monkeypatch.setattr(Like.objects, "create", create)
    assert client.post(like_url(post), **JSON).json()["liked"] is True
