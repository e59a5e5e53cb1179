"""Sign-up: the form, the view, the activation e-mail."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse

from tests.conftest import PASSWORD
from ublog_accounts import signals
from ublog_accounts.forms import SignupForm
from ublog_accounts.views import SignupView

pytestmark = pytest.mark.django_db

SIGNUP = reverse("ublog_accounts:signup")
User = get_user_model()


def data(**overrides):
    values = {
        "username": "carol",
        "email": "carol@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    values.update(overrides)
    return values


def activation_url_from(message):
    match = re.search(r"https?://\S+/accounts/activate/\S+/", message.body)
    assert match, message.body
    return match.group(0)


def test_get_shows_form(client):
    response = client.get(SIGNUP)
    assert response.status_code == 200
    assert "ublog_accounts/signup.html" in [t.name for t in response.templates]
    content = response.content.decode()
    assert 'name="email"' in content
    assert "csrfmiddlewaretoken" in content
    assert content.startswith("<!DOCTYPE html>")


def test_signup_creates_inactive_user_and_sends_one_email(client):
    received = []
    signals.user_registered.connect(
        lambda **kwargs: received.append(kwargs["user"]), weak=False, dispatch_uid="t"
    )
    try:
        response = client.post(SIGNUP, data())
    finally:
        signals.user_registered.disconnect(dispatch_uid="t")
    assert response.status_code == 302
    assert response.url == reverse("ublog_accounts:signup_done")
    user = User.objects.get(username="carol")
    assert not user.is_active
    assert user.email == "carol@example.com"
    assert user.check_password(PASSWORD)
    assert received == [user]

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["carol@example.com"]
    assert message.from_email == "ublog <noreply@example.com>"
    assert message.subject == "Activate your account on testserver"
    assert "\n" not in message.subject
    assert "carol" in message.body
    assert "7 days" in message.body

    url = activation_url_from(message)
    assert url.startswith("http://testserver/accounts/activate/")
    # The link really works: it shows the form, and POSTing it activates.
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.url == reverse("ublog_accounts:activation_complete")
    user.refresh_from_db()
    assert user.is_active


def test_email_uses_request_host_and_scheme(client):
    client.post(SIGNUP, data(), headers={"host": "example.com"}, secure=True)
    message = mail.outbox[0]
    assert message.subject == "Activate your account on example.com"
    assert "https://example.com/accounts/activate/" in message.body


def test_email_is_plain_text_not_html_escaped():
    context = {
        "user": User(username="o'brien&co"),
        "site_name": "a&b",
        "activation_url": "http://a&b/x?y=1&z=2",
        "expiration_days": 1,
    }
    body = render_to_string("ublog_accounts/activation_email_body.txt", context)
    subject = render_to_string("ublog_accounts/activation_email_subject.txt", context)
    assert "Hello o'brien&co," in body
    assert "http://a&b/x?y=1&z=2" in body
    assert "1 day." in body
    assert subject.strip() == "Activate your account on a&b"


def test_signup_done_page(client):
    response = client.get(reverse("ublog_accounts:signup_done"))
    assert response.status_code == 200
    assert b"Check your e-mail" in response.content
    assert b"7 days" in response.content


@pytest.mark.parametrize("username", ["alice", "ALICE", "Alice"])
def test_duplicate_username_case_insensitive(client, make_user, username):
    make_user("alice", "someone@example.com")
    response = client.post(SIGNUP, data(username=username))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["username"] == ["A user with that username already exists."]
    assert form.has_error("username", "duplicate_username")
    assert b"A user with that username already exists." in response.content
    assert User.objects.count() == 1
    assert mail.outbox == []


@pytest.mark.parametrize("email", ["alice@example.com", "ALICE@Example.COM"])
def test_duplicate_email_case_insensitive(client, make_user, email):
    make_user("alice", "alice@example.com")
    response = client.post(SIGNUP, data(email=email))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("email", "duplicate_email")
    assert "already in use" in form.errors["email"][0]
    assert User.objects.count() == 1
    assert mail.outbox == []


def test_password_mismatch(client):
    response = client.post(SIGNUP, data(password2="something else entirely"))
    assert response.status_code == 200
    assert response.context["form"].has_error("password2", "password_mismatch")
    assert not User.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("missing", ["username", "email", "password1", "password2"])
def test_required_fields(missing):
    form = SignupForm(data=data(**{missing: ""}))
    assert not form.is_valid()
    assert form.has_error(missing, "required")


def test_invalid_email():
    form = SignupForm(data=data(email="not-an-address"))
    assert form.has_error("email", "invalid")


def test_email_domain_is_normalized():
    form = SignupForm(data=data(email="Carol@EXAMPLE.com"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "Carol@example.com"


def test_signup_closed(client, settings):
    settings.UBLOG_ACCOUNTS_SIGNUP_OPEN = False
    response = client.get(SIGNUP)
    assert response.status_code == 200
    assert "ublog_accounts/signup_closed.html" in [t.name for t in response.templates]
    assert b"Sign-up closed" in response.content
    response = client.post(SIGNUP, data())
    assert b"Sign-up closed" in response.content
    assert not User.objects.exists()
    assert mail.outbox == []


def test_signup_open_by_default(client, settings):
    settings.UBLOG_ACCOUNTS_SIGNUP_OPEN = True
    assert b"Sign-up closed" not in client.get(SIGNUP).content


def test_failing_email_does_not_create_user(client, monkeypatch):
    def broken(self, user):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(SignupView, "send_activation_email", broken)
    with pytest.raises(ConnectionRefusedError):
        client.post(SIGNUP, data())
    assert not User.objects.exists()


def test_hooks_can_be_overridden(rf):
    class CustomSignup(SignupView):
        def get_activation_key(self, user):
            return "custom-key"

        def get_email_context(self, activation_key, user):
            context = super().get_email_context(activation_key, user)
            context["site_name"] = "Custom Site"
            return context

    request = rf.post(SIGNUP, data())
    request._dont_enforce_csrf_checks = True
    response = CustomSignup.as_view()(request)
    assert response.status_code == 302
    message = mail.outbox[0]
    assert message.subject == "Activate your account on Custom Site"
    assert "/accounts/activate/custom-key/" in message.body
