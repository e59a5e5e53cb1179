"""Tests of the composed site: URLs, templates, and a full visitor journey."""

import importlib
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from PIL import Image

from ublog_posts.models import Like, Post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def png_upload(name="dot.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "teal").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def make_user(name="alice", password="correct horse battery"):
    return get_user_model().objects.create_user(
        name, f"{name}@example.org", password, is_active=True
    )


# -- URL composition and layout ------------------------------------------------


def test_url_composition():
    assert reverse("ublog_posts:list") == "/"
    assert reverse("ublog_posts:create") == "/new/"
    assert reverse("ublog_accounts:signup") == "/accounts/signup/"
    assert reverse("ublog_accounts:login") == "/accounts/login/"
    assert reverse("admin:index") == "/admin/"


def test_home_page_uses_the_site_layout(client):
    response = client.get("/")
    assert response.status_code == 200
    names = [t.name for t in response.templates]
    assert "ublog_posts/post_list.html" in names
    assert "ublog_site/base.html" in names
    html = response.content.decode()
    assert '<a class="site-brand" href="/">μblog</a>' in html
    assert 'href="/new/">New post</a>' in html
    assert 'href="/accounts/signup/">Sign up</a>' in html
    assert 'href="/accounts/login/">Log in</a>' in html
    assert "Log out" not in html
    # The site's CSS, and the posts app's CSS and JS.
    assert "/static/ublog_site/site.css" in html
    assert "/static/ublog_posts/posts.css" in html
    assert "/static/ublog_posts/like.js" in html
    assert html.count("<html") == 1


def test_logged_in_nav_has_logout_button(client):
    client.force_login(make_user("bob"))
    html = client.get("/").content.decode()
    assert '<a href="/users/bob/" class="site-user">bob</a>' in html
    assert re.search(
        r'<form class="site-logout" method="post" action="/accounts/logout/">'
        r'\s*<input type="hidden" name="csrfmiddlewaretoken"',
        html,
    )
    assert "Sign up" not in html


def test_accounts_pages_use_the_site_layout(client):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    names = [t.name for t in response.templates]
    assert "ublog_accounts/signup.html" in names
    assert "ublog_site/base.html" in names
    assert "/static/ublog_site/site.css" in response.content.decode()
    assert client.get("/accounts/login/").status_code == 200


def test_admin_login(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Django administration" in response.content or b"Log in" in response.content


def test_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "site-brand" in html


def test_403_page(client):
    owner = make_user("owner")
    post = Post.objects.create(text="mine", owner=owner)
    client.force_login(make_user("intruder"))
    response = client.get(reverse("ublog_posts:edit", args=[post.pk]))
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()
    client.logout()
    response = client.post(reverse("ublog_posts:like", args=[post.pk]))
    assert response.status_code == 302


def test_403_page_anonymous_suggests_login():
    html = render_to_string("403.html", {"user": None})
    assert 'href="/accounts/login/"' in html


def test_500_page_needs_no_context():
    html = render_to_string("500.html")
    assert "Something went wrong" in html
    assert "{%" not in html


def test_500_page_served_on_error(client, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("ublog_posts.views.PostListView.get", boom)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content


def test_media_served_only_in_debug(settings):
    import ublog_site.urls

    try:
        settings.DEBUG = True
        urls = importlib.reload(ublog_site.urls)
        assert any("media" in str(p.pattern) for p in urls.urlpatterns)
        settings.DEBUG = False
        urls = importlib.reload(ublog_site.urls)
        assert not any("media" in str(p.pattern) for p in urls.urlpatterns)
    finally:
        settings.DEBUG = False
        importlib.reload(ublog_site.urls)


def test_wsgi_application():
    from ublog_site.wsgi import application

    assert callable(application)


def test_no_missing_migrations():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


# -- the whole journey ---------------------------------------------------------------


def test_signup_activate_login_post_like_edit_delete_logout(media_root):
    client = Client(enforce_csrf_checks=False)
    password = "a long and uncommon passphrase"

    # Sign up: an inactive account and an activation e-mail.
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "email": "carol@example.org",
            "password1": password,
            "password2": password,
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/accounts/signup/done/"
    assert client.get(response["Location"]).status_code == 200
    user = get_user_model().objects.get(username="carol")
    assert not user.is_active
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["carol@example.org"]
    link = re.search(r"http://testserver(/accounts/activate/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    path = link.group(1)

    # Cannot log in yet.
    response = client.post(
        "/accounts/login/", {"username": "carol", "password": password}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session

    # GET shows a confirmation form and does not activate; POST activates.
    response = client.get(path)
    assert response.status_code == 200
    assert "ublog_site/base.html" in [t.name for t in response.templates]
    user.refresh_from_db()
    assert not user.is_active
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/activate/complete/"
    assert client.get(response["Location"]).status_code == 200
    user.refresh_from_db()
    assert user.is_active

    # Log in.
    response = client.post(
        "/accounts/login/", {"username": "carol", "password": password}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/").content.decode()
    assert "carol" in home
    assert 'href="/accounts/password/change/">Password</a>' in home
    assert client.get("/accounts/password/change/").status_code == 200

    # Create a post with an image.
    response = client.post(
        "/new/",
        {"text": "Hello μblog!", "image": png_upload(), "image_alt": "A teal dot"},
    )
    assert response.status_code == 302, response.content.decode()
    post = Post.objects.get()
    assert post.owner == user
    assert post.image
    assert (media_root / post.image.name).exists()
    response = client.get(response["Location"])
    assert response.status_code == 200
    assert "Hello μblog!" in response.content.decode()

    # Like (fetch() style, JSON) and unlike (form style, redirect).
    like_url = f"/{post.pk}/like/"
    response = client.post(like_url, HTTP_ACCEPT="application/json")
    assert response.json() == {"liked": True, "count": 1}
    assert Like.objects.filter(post=post, user=user).exists()
    response = client.post(like_url, {"next": "/"})
    assert response.status_code == 302
    assert not Like.objects.exists()

    # Edit.
    response = client.get(f"/{post.pk}/edit/")
    assert response.status_code == 200
    response = client.post(
        f"/{post.pk}/edit/", {"text": "Hello again", "image_alt": "A teal dot"}
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.text == "Hello again"

    # Delete (GET confirms, POST deletes).
    assert client.get(f"/{post.pk}/delete/").status_code == 200
    response = client.post(f"/{post.pk}/delete/")
    assert response.status_code == 302
    assert not Post.objects.exists()

    # Log out with the nav's POST form.
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "_auth_user_id" not in client.session
    assert 'href="/accounts/login/">Log in</a>' in client.get("/").content.decode()
