"""Old activation links must not activate an account that is not waiting for
them: neither an account an administrator deactivated, nor a new account
that took the username of a deleted one.

Both go through the real pages (sign up, the mailed link), as an attacker
would: the first version signed only the username, and failed both.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
User = get_user_model()


def sign_up(client, username, email):
    mail.outbox.clear()
    response = client.post(
        reverse("ublog_accounts:signup"),
        {
            "username": username,
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    [message] = mail.outbox
    return re.search(r"http://testserver/accounts/activate/\S+/", message.body)[0]


def test_link_does_not_reactivate_a_deactivated_account(client):
    link = sign_up(client, "alice", "alice@example.com")
    assert client.post(link).status_code == 302
    alice = User.objects.get(username="alice")
    assert alice.is_active
    # An administrator deactivates the account.
    alice.is_active = False
    alice.save()

    response = client.post(link)
    alice.refresh_from_db()
    assert not alice.is_active
    assert response.status_code == 400
    assert response.context["activation_error"].code == "revoked"


def test_link_of_a_deleted_account_does_not_activate_its_successor(client):
    first_link = sign_up(client, "alice", "alice@example.com")
    User.objects.get(username="alice").delete()
    second_link = sign_up(client, "alice", "another-alice@example.com")

    response = client.post(first_link)
    new_alice = User.objects.get(username="alice")
    assert not new_alice.is_active
    assert response.status_code == 400
    assert response.context["activation_error"].code == "bad_username"
    # Her own link still works.
    client.post(second_link)
    new_alice.refresh_from_db()
    assert new_alice.is_active
