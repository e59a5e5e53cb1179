"""Password reset by e-mail and password change (Django's views)."""

import re

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse

from tests.conftest import PASSWORD, mail_errors

pytestmark = pytest.mark.django_db

RESET = reverse("ublog_accounts:password_reset")
RESET_DONE = reverse("ublog_accounts:password_reset_done")
CHANGE = reverse("ublog_accounts:password_change")
NEW_PASSWORD = "a brand new passphrase 42"


def reset_url_from(message):
    match = re.search(
        r"http://testserver/accounts/password/reset/\S+/\S+/", message.body
    )
    assert match, message.body
    return match.group(0)


def outcome(client, email):
    response = client.post(RESET, {"email": email}, follow=True)
    return response.status_code, response.redirect_chain, response.content


def test_reset_page(client):
    response = client.get(RESET)
    assert response.status_code == 200
    assert "ublog_accounts/password_reset_form.html" in [
        t.name for t in response.templates
    ]
    assert b'name="email"' in response.content
    assert b"csrfmiddlewaretoken" in response.content


def test_reset_by_mail(client, active_user):
    response = client.post(RESET, {"email": "BOB@example.com"})
    assert response.status_code == 302
    assert response.url == RESET_DONE
    [message] = mail.outbox
    assert message.to == ["bob@example.com"]
    assert message.subject == "Reset your password on testserver"
    assert "Hello bob," in message.body

    url = reset_url_from(message)
    # Django swaps the token for a session entry, then shows the form.
    response = client.get(url, follow=True)
    assert response.status_code == 200
    assert response.context["validlink"]
    assert "ublog_accounts/password_reset_confirm.html" in [
        t.name for t in response.templates
    ]
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("ublog_accounts:password_reset_complete")
    response = client.get(response.url)
    assert b"Password changed" in response.content
    assert reverse("ublog_accounts:login").encode() in response.content
    active_user.refresh_from_db()
    assert active_user.check_password(NEW_PASSWORD)
    # The link works once.
    response = client.get(url, follow=True)
    assert not response.context["validlink"]
    assert b"This password reset link is not valid" in response.content
    assert RESET.encode() in response.content


def test_same_answer_for_known_and_unknown_addresses(
    client, active_user, inactive_user
):
    known = outcome(client, "bob@example.com")
    assert len(mail.outbox) == 1
    unknown = outcome(client, "nobody@example.com")
    # Accounts waiting for activation get no reset mail (Django's rule: only
    # active accounts); they can ask for the activation link again.
    pending = outcome(client, "alice@example.com")
    assert len(mail.outbox) == 1
    assert known[0] == 200
    assert known[1] == [(RESET_DONE, 302)]
    assert b"Check your e-mail" in known[2]
    assert known == unknown == pending


def test_failing_mail_server(client, active_user, smtp_down, caplog):
    known = outcome(client, "bob@example.com")
    assert len(mail_errors(caplog)) == 1
    assert "Reset your password" in mail_errors(caplog)[0].getMessage()
    assert known == outcome(client, "nobody@example.com")
    assert known[1] == [(RESET_DONE, 302)]


def test_reset_email_is_plain_text_not_html_escaped():
    class User:
        def get_username(self):
            return "o'brien&co"

    context = {
        "user": User(),
        "site_name": "a&b",
        "protocol": "https",
        "domain": "a&b",
        "uid": "MQ",
        "token": "abc-def",
    }
    body = render_to_string("ublog_accounts/password_reset_email_body.txt", context)
    subject = render_to_string(
        "ublog_accounts/password_reset_email_subject.txt", context
    )
    assert "Hello o'brien&co," in body
    assert "https://a&b/accounts/password/reset/MQ/abc-def/" in body
    assert subject.strip() == "Reset your password on a&b"


def test_change_needs_login(client):
    for name in ("password_change", "password_change_done"):
        response = client.get(reverse(f"ublog_accounts:{name}"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("ublog_accounts:login") + "?next=")


def test_change_password(client, active_user):
    client.force_login(active_user)
    response = client.get(CHANGE)
    assert response.status_code == 200
    assert "ublog_accounts/password_change_form.html" in [
        t.name for t in response.templates
    ]
    response = client.post(
        CHANGE,
        {
            "old_password": "wrong",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.context["form"].has_error("old_password", "password_incorrect")
    response = client.post(
        CHANGE,
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("ublog_accounts:password_change_done")
    response = client.get(response.url)
    assert b"Your password has been changed." in response.content
    active_user.refresh_from_db()
    assert active_user.check_password(NEW_PASSWORD)
    # Still logged in (Django updates the session hash).
    assert client.get("/").content == b"home: bob"


def test_login_page_links(client):
    content = client.get(reverse("ublog_accounts:login")).content.decode()
    assert f'<a href="{RESET}">Forgot your password?</a>' in content
    resend = reverse("ublog_accounts:resend_activation")
    assert f'No activation mail? <a href="{resend}">Send it again</a>' in content
