"""The activation page: confirm on GET, activate on POST, clear failures."""

import pytest
from django.urls import reverse

from ublog_accounts import activation, signals
from ublog_accounts.activation import make_activation_key

pytestmark = pytest.mark.django_db


def url(key):
    return reverse("ublog_accounts:activate", kwargs={"activation_key": key})


def error_code(response):
    return response.context["activation_error"].code


def test_complete_is_not_taken_for_a_key(client):
    assert url("x").startswith("/accounts/activate/")
    response = client.get(reverse("ublog_accounts:activation_complete"))
    assert response.status_code == 200
    assert b"Account activated" in response.content


def test_get_shows_confirm_form_and_does_not_activate(client, inactive_user):
    key = make_activation_key(inactive_user)
    response = client.get(url(key))
    assert response.status_code == 200
    assert "ublog_accounts/activate.html" in [t.name for t in response.templates]
    content = response.content.decode()
    assert f'<form method="post" action="{url(key)}">' in content
    assert "csrfmiddlewaretoken" in content
    assert "alice" in content
    # Scanners following the link many times activate nothing.
    client.get(url(key))
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


def test_post_activates_and_redirects(client, inactive_user):
    received = []
    signals.user_activated.connect(
        lambda **kwargs: received.append(kwargs["user"]), weak=False, dispatch_uid="t"
    )
    try:
        response = client.post(url(make_activation_key(inactive_user)))
    finally:
        signals.user_activated.disconnect(dispatch_uid="t")
    assert response.status_code == 302
    assert response.url == reverse("ublog_accounts:activation_complete")
    inactive_user.refresh_from_db()
    assert inactive_user.is_active
    assert not activation.is_pending(inactive_user)
    assert received == [inactive_user]


def test_post_needs_csrf_token(inactive_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(url(make_activation_key(inactive_user)))
    assert response.status_code == 403
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


@pytest.mark.parametrize("method", ["get", "post"])
def test_replayed_link_says_already_activated(client, inactive_user, method):
    key = make_activation_key(inactive_user)
    client.post(url(key))
    response = getattr(client, method)(url(key))
    assert response.status_code == 200
    assert error_code(response) == "already_activated"
    content = response.content.decode()
    assert "Account already active" in content
    assert "This account is already active. You can log in." in content
    assert reverse("ublog_accounts:login") in content


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_key_is_invalid(client, inactive_user, method):
    key = make_activation_key(inactive_user)
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    response = getattr(client, method)(url(tampered))
    assert response.status_code == 400
    assert error_code(response) == "invalid_key"
    assert b"This activation link is invalid." in response.content
    assert b"Activation failed" in response.content
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


@pytest.mark.parametrize("method", ["get", "post"])
def test_expired_key(client, inactive_user, days_ago, method):
    with days_ago(8):
        key = make_activation_key(inactive_user)
    response = getattr(client, method)(url(key))
    assert response.status_code == 400
    assert error_code(response) == "expired"
    assert b"This activation link has expired" in response.content
    assert b"valid for 7 days" in response.content
    assert reverse("ublog_accounts:resend_activation").encode() in response.content
    assert b"Send me a new activation link" in response.content
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


def test_expiry_zero_days(client, inactive_user, days_ago, settings):
    settings.UBLOG_ACCOUNTS_ACTIVATION_DAYS = 0
    with days_ago(0.001):
        key = make_activation_key(inactive_user)
    assert error_code(client.post(url(key))) == "expired"


@pytest.mark.parametrize("method", ["get", "post"])
def test_deleted_user_is_bad_username(client, inactive_user, method):
    key = make_activation_key(inactive_user)
    inactive_user.delete()
    response = getattr(client, method)(url(key))
    assert response.status_code == 400
    assert error_code(response) == "bad_username"
    assert b"no longer exists" in response.content
    assert reverse("ublog_accounts:signup").encode() in response.content
    assert b"/accounts/resend/" not in response.content


@pytest.mark.parametrize("method", ["get", "post"])
def test_revoked_key(client, inactive_user, method):
    key = make_activation_key(inactive_user)
    activation.start(inactive_user)  # a new nonce: earlier links are revoked
    response = getattr(client, method)(url(key))
    assert response.status_code == 400
    assert error_code(response) == "revoked"
    content = response.content.decode()
    assert "This activation link can no longer be used." in content
    assert reverse("ublog_accounts:resend_activation") in content
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


def test_deactivated_account_shows_revoked(client, inactive_user):
    key = make_activation_key(inactive_user)
    client.post(url(key))
    inactive_user.refresh_from_db()
    inactive_user.is_active = False
    inactive_user.save()
    response = client.post(url(key))
    assert response.status_code == 400
    assert error_code(response) == "revoked"
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


def test_each_failure_has_a_distinct_message(client, inactive_user, days_ago):
    pages = {}
    key = make_activation_key(inactive_user)
    pages["invalid_key"] = client.get(url(key + "x"))
    with days_ago(30):
        pages["expired"] = client.get(url(make_activation_key(inactive_user)))
        expired_key = make_activation_key(inactive_user)
    pages["expired"] = client.get(url(expired_key))
    client.post(url(key))
    pages["already_activated"] = client.get(url(key))
    inactive_user.is_active = False
    inactive_user.save()
    pages["revoked"] = client.get(url(key))
    inactive_user.delete()
    pages["bad_username"] = client.get(url(key))
    messages = set()
    for code, response in pages.items():
        assert error_code(response) == code
        messages.add(str(response.context["activation_error"]))
        assert str(response.context["activation_error"]) in response.content.decode()
    assert len(messages) == 5


def test_html_is_escaped(client, make_user):
    user = make_user("<b>evil</b>", "evil@example.com", active=False)
    response = client.get(url(make_activation_key(user)))
    assert response.status_code == 200
    assert b"<b>evil</b>" not in response.content
    assert b"&lt;b&gt;evil&lt;/b&gt;" in response.content
