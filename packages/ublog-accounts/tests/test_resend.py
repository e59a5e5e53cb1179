"""Sending the activation link again: same answer for every address."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.conftest import mail_errors
from ublog_accounts import activation
from ublog_accounts.models import PendingActivation

pytestmark = pytest.mark.django_db

RESEND = reverse("ublog_accounts:resend_activation")
DONE = reverse("ublog_accounts:resend_activation_done")


def activation_url_from(message):
    return re.search(r"http://testserver/accounts/activate/\S+/", message.body)[0]


def outcome(client, email):
    response = client.post(RESEND, {"email": email}, follow=True)
    return response.status_code, response.redirect_chain, response.content


def test_page_shows_form(client):
    response = client.get(RESEND)
    assert response.status_code == 200
    assert "ublog_accounts/resend_activation.html" in [
        t.name for t in response.templates
    ]
    content = response.content.decode()
    assert 'name="email"' in content
    assert 'autocomplete="email"' in content
    assert "csrfmiddlewaretoken" in content


def test_done_page(client):
    response = client.get(DONE)
    assert response.status_code == 200
    text = " ".join(response.content.decode().split())
    assert (
        "If an account waiting for activation uses this address, we have sent it "
        "a new activation link." in text
    )
    assert "valid for 7 days" in text


def test_invalid_address(client):
    response = client.post(RESEND, {"email": "not an address"})
    assert response.status_code == 200
    assert response.context["form"].has_error("email", "invalid")
    assert mail.outbox == []


def test_resend_to_an_account_waiting_for_activation(client, inactive_user):
    first_key = activation.make_activation_key(inactive_user)
    old = timezone.now() - datetime.timedelta(days=5)
    PendingActivation.objects.update(sent_at=old)
    response = client.post(RESEND, {"email": "ALICE@example.com"})
    assert response.status_code == 302
    assert response.url == DONE
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Activate your account on testserver"
    pending = PendingActivation.objects.get()
    assert pending.sent_at > old
    # Both links are valid, each for its own period; the new one activates.
    url = activation_url_from(message)
    assert client.get(url).status_code == 200
    assert activation.validate_key(first_key) == activation.validate_key(
        url.rstrip("/").rsplit("/", 1)[1]
    )
    assert client.post(url).url == reverse("ublog_accounts:activation_complete")
    inactive_user.refresh_from_db()
    assert inactive_user.is_active


def test_resend_after_the_link_expired(client, inactive_user, days_ago):
    with days_ago(8):
        expired_key = activation.make_activation_key(inactive_user)
    client.post(RESEND, {"email": "alice@example.com"})
    client.post(activation_url_from(mail.outbox[0]))
    inactive_user.refresh_from_db()
    assert inactive_user.is_active
    # The old link stays expired.
    response = client.get(
        reverse("ublog_accounts:activate", kwargs={"activation_key": expired_key})
    )
    assert response.context["activation_error"].code == "expired"


def test_same_answer_whatever_the_address(
    client, inactive_user, active_user, deactivated_user
):
    outcomes = [
        outcome(client, "nobody@example.com"),
        outcome(client, "bob@example.com"),  # active
        outcome(client, "dave@example.com"),  # deactivated by an admin
        outcome(client, "alice@example.com"),  # waiting for activation
    ]
    assert outcomes[0][0] == 200
    assert outcomes[0][1] == [(DONE, 302)]
    assert all(other == outcomes[0] for other in outcomes[1:])
    # Only the account waiting for activation got a mail.
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]
    deactivated_user.refresh_from_db()
    assert not deactivated_user.is_active
    assert not activation.is_pending(deactivated_user)


def test_every_account_waiting_with_the_address_gets_its_link(client, make_user):
    make_user("alice", "shared@example.com", active=False)
    make_user("carol", "shared@example.com", active=False)
    client.post(RESEND, {"email": "shared@example.com"})
    assert len(mail.outbox) == 2
    assert {m.body.split(",")[0] for m in mail.outbox} == {
        "Hello alice",
        "Hello carol",
    }


def test_failing_mail_server(client, inactive_user, smtp_down, caplog):
    response = client.post(RESEND, {"email": "alice@example.com"})
    assert response.status_code == 302
    assert response.url == DONE
    assert len(mail_errors(caplog)) == 1
    assert get_user_model().objects.filter(pk=inactive_user.pk).exists()
    assert activation.is_pending(inactive_user)
