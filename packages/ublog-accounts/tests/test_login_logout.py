"""Login and logout with the package's templates."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("ublog_accounts:login")
LOGOUT = reverse("ublog_accounts:logout")


def test_login_page(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert "ublog_accounts/login.html" in [t.name for t in response.templates]
    assert b"csrfmiddlewaretoken" in response.content
    assert b"login-hint" not in response.content


def test_login_active_user(client, active_user):
    response = client.post(LOGIN, {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == "/"
    assert client.get("/").content == b"home: bob"


def test_login_respects_next(client, active_user):
    response = client.post(
        LOGIN, {"username": "bob", "password": PASSWORD, "next": "/elsewhere/"}
    )
    assert response.url == "/elsewhere/"


def test_login_inactive_user_fails_with_hint(client, inactive_user):
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert b"login-hint" in response.content
    assert client.get("/").content == b"home: anon"


def test_login_wrong_password(client, active_user):
    response = client.post(LOGIN, {"username": "bob", "password": "wrong"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated


def test_logout_post(client, active_user):
    client.force_login(active_user)
    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert response.url == "/"
    assert client.get("/").content == b"home: anon"


def test_logout_uses_logout_redirect_url(client, active_user, settings):
    settings.LOGOUT_REDIRECT_URL = "ublog_accounts:login"
    client.force_login(active_user)
    assert client.post(LOGOUT).url == LOGIN


def test_logout_get_is_not_allowed(client, active_user):
    client.force_login(active_user)
    response = client.get(LOGOUT)
    assert response.status_code == 405
    assert client.get("/").content == b"home: bob"
