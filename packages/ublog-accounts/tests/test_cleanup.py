"""Deleting expired sign-ups: the function, the command, the data migration."""

import datetime
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from ublog_accounts import activation
from ublog_accounts.models import PendingActivation

User = get_user_model()


def sent_days_ago(user, days):
    PendingActivation.objects.filter(user=user).update(
        sent_at=timezone.now() - datetime.timedelta(days=days)
    )


def usernames():
    return set(User.objects.values_list("username", flat=True))


@pytest.fixture
def accounts(make_user):
    """One account in each state; expired ones were mailed 8 days ago."""
    expired = make_user("expired", active=False)
    sent_days_ago(expired, 8)
    recent = make_user("recent", active=False)
    sent_days_ago(recent, 6)
    # Deactivated by an administrator long ago: not a sign-up.
    deactivated = make_user("deactivated", active=False, pending=False)
    User.objects.filter(pk=deactivated.pk).update(
        date_joined=timezone.now() - datetime.timedelta(days=400)
    )
    # Activated by hand, bypassing save() (so its pending row stayed).
    by_hand = make_user("byhand", active=False)
    sent_days_ago(by_hand, 30)
    User.objects.filter(pk=by_hand.pk).update(is_active=True)
    make_user("active")
    return expired


@pytest.mark.django_db
def test_delete_expired_signups(accounts):
    result = activation.delete_expired_signups()
    assert result == activation.ExpiredSignups(users=1, activated=1)
    assert usernames() == {"recent", "deactivated", "byhand", "active"}
    assert list(PendingActivation.objects.values_list("user__username", flat=True)) == [
        "recent"
    ]
    # Nothing more to do the second time.
    assert activation.delete_expired_signups() == (0, 0)


@pytest.mark.django_db
def test_dry_run_only_counts(accounts):
    assert activation.delete_expired_signups(dry_run=True) == (1, 1)
    assert len(usernames()) == 5
    assert PendingActivation.objects.count() == 3


@pytest.mark.django_db
def test_activation_days_read_at_call_time(accounts, settings):
    settings.UBLOG_ACCOUNTS_ACTIVATION_DAYS = 5
    assert activation.delete_expired_signups() == (2, 1)
    assert usernames() == {"deactivated", "byhand", "active"}


@pytest.mark.django_db
def test_username_and_address_are_free_again(client, accounts):
    activation.delete_expired_signups()
    response = client.post(
        reverse("ublog_accounts:signup"),
        {
            "username": "EXPIRED",
            "email": "expired@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="EXPIRED").email == "expired@example.com"


@pytest.mark.django_db
def test_key_of_a_deleted_signup(client, accounts):
    key = activation.make_activation_key(accounts)
    activation.delete_expired_signups()
    response = client.post(
        reverse("ublog_accounts:activate", kwargs={"activation_key": key})
    )
    assert response.context["activation_error"].code == "bad_username"


@pytest.mark.django_db
def test_command(accounts):
    out = StringIO()
    call_command("deleteexpiredsignups", "--dry-run", stdout=out)
    assert out.getvalue() == (
        "would delete 1 expired sign-up(s) and 1 pending activation(s) of "
        "active accounts\n"
    )
    assert len(usernames()) == 5
    out = StringIO()
    call_command("deleteexpiredsignups", stdout=out)
    assert out.getvalue() == (
        "deleted 1 expired sign-up(s) and 1 pending activation(s) of active accounts\n"
    )
    assert len(usernames()) == 4


@pytest.mark.django_db(transaction=True)
def test_data_migration_makes_old_signups_pending():
    """0002 gives the accounts of the first version a pending row."""
    executor = MigrationExecutor(connection)
    executor.migrate([("ublog_accounts", "0001_initial")])
    joined = timezone.now() - datetime.timedelta(days=3)

    def make(username, **fields):
        user = User.objects.create_user(username, f"{username}@example.com", "pw")
        User.objects.filter(pk=user.pk).update(date_joined=joined, **fields)
        return user

    signup = make("signup", is_active=False)
    make("loggedin", is_active=False, last_login=joined)
    make("staff", is_active=False, is_staff=True)
    make("active")
    already = make("already", is_active=False)
    PendingActivation.objects.create(user=already, nonce="kept", sent_at=joined)

    executor = MigrationExecutor(connection)
    executor.migrate([("ublog_accounts", "0002_pending_existing_signups")])
    rows = {row.user.username: row for row in PendingActivation.objects.all()}
    assert set(rows) == {"signup", "already"}
    assert rows["signup"].sent_at == joined
    assert len(rows["signup"].nonce) == 22
    assert rows["already"].nonce == "kept"
    # Resend and activation work for the old sign-up now.
    activation.activate(activation.make_activation_key(signup))
    signup.refresh_from_db()
    assert signup.is_active

    # Reversing 0002 keeps the rows.
    executor = MigrationExecutor(connection)
    executor.migrate([("ublog_accounts", "0001_initial")])
    assert PendingActivation.objects.count() == 1
    executor = MigrationExecutor(connection)
    executor.migrate([("ublog_accounts", "0002_pending_existing_signups")])
