"""Sign-up, activation, resend, cleanup and password reset with EmailUser
(run by test_custom_user.py)."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from ublog_accounts import activation
from ublog_accounts.forms import SignupForm
from ublog_accounts.models import PendingActivation

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
SIGNUP = reverse("ublog_accounts:signup")


def data(email="dora@example.com"):
    return {"email": email, "password1": PASSWORD, "password2": PASSWORD}


def link_in(message):
    return re.search(r"http://\S+/activate/\S+/", message.body).group(0)


def test_signup_and_activation_with_email_as_username(client):
    assert get_user_model()._meta.label == "custom_user.EmailUser"
    assert list(SignupForm.base_fields) == ["email", "password1", "password2"]
    response = client.post(SIGNUP, data())
    assert response.status_code == 302, response.context["form"].errors
    user = get_user_model().objects.get()
    assert not user.is_active
    assert activation.is_pending(user)
    url = link_in(mail.outbox[0])
    assert "dora@example.com" in mail.outbox[0].body
    assert client.get(url).status_code == 200
    client.post(url)
    user.refresh_from_db()
    assert user.is_active
    assert not PendingActivation.objects.exists()
    assert client.login(email="dora@example.com", password=PASSWORD)


def test_address_in_use_is_not_revealed(client):
    get_user_model().objects.create_user("dora@example.com", PASSWORD)
    # The form does not tell (the address is the username here)...
    assert SignupForm(data=data("DORA@example.com")).is_valid()
    # ...and the view mails the owner instead of creating an account.
    response = client.post(SIGNUP, data("DORA@example.com"))
    assert response.url == reverse("ublog_accounts:signup_done")
    assert get_user_model().objects.count() == 1
    [message] = mail.outbox
    assert message.to == ["dora@example.com"]
    assert "named dora@example.com" in message.body


def test_signup_again_replaces_the_pending_account(client):
    client.post(SIGNUP, data())
    first = get_user_model().objects.get()
    client.post(SIGNUP, data("Dora@EXAMPLE.com"))
    second = get_user_model().objects.get()
    assert second.pk != first.pk
    response = client.post(link_in(mail.outbox[0]))
    assert response.context["activation_error"].code == "bad_username"
    client.post(link_in(mail.outbox[1]))
    second.refresh_from_db()
    assert second.is_active


def test_deactivated_account_is_not_reactivated(client):
    client.post(SIGNUP, data())
    url = link_in(mail.outbox[0])
    client.post(url)
    user = get_user_model().objects.get()
    user.is_active = False
    user.save()
    assert client.post(url).context["activation_error"].code == "revoked"
    user.refresh_from_db()
    assert not user.is_active
    # Signing up again with its address creates and sends nothing.
    client.post(SIGNUP, data())
    assert get_user_model().objects.count() == 1
    assert len(mail.outbox) == 1


def test_confusable_address_is_refused():
    form = SignupForm(data=data("dora@ex\u0430mple.com"))
    assert form.has_error("email", "confusable_username")


def test_resend_and_cleanup(client):
    client.post(SIGNUP, data())
    client.post(reverse("ublog_accounts:resend_activation"), {"email": data()["email"]})
    assert len(mail.outbox) == 2
    PendingActivation.objects.update(
        sent_at=timezone.now() - datetime.timedelta(days=8)
    )
    assert activation.delete_expired_signups() == (1, 0)
    assert not get_user_model().objects.exists()


def test_password_reset(client):
    get_user_model().objects.create_user("dora@example.com", PASSWORD)
    response = client.post(
        reverse("ublog_accounts:password_reset"), {"email": "dora@example.com"}
    )
    assert response.url == reverse("ublog_accounts:password_reset_done")
    assert "/accounts/password/reset/" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_data_migration_without_is_staff_or_date_joined():
    executor = MigrationExecutor(connection)
    executor.migrate([("ublog_accounts", "0001_initial")])
    user_model = get_user_model()
    waiting = user_model.objects.create_user("a@example.com", "pw", is_active=False)
    user_model.objects.create_user("b@example.com", "pw")
    before = timezone.now()
    executor = MigrationExecutor(connection)
    executor.migrate([("ublog_accounts", "0002_pending_existing_signups")])
    [row] = PendingActivation.objects.all()
    assert row.user_id == waiting.pk
    assert row.sent_at >= before
