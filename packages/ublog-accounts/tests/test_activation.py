"""The activation functions: keys, pending rows, get_user, activate."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.utils import timezone

from ublog_accounts import activation
from ublog_accounts.exceptions import ActivationError
from ublog_accounts.models import PendingActivation

pytestmark = pytest.mark.django_db


def code_of(function, *args):
    with pytest.raises(ActivationError) as info:
        function(*args)
    return info.value.code


def test_key_is_signed_pk_and_nonce_with_salt(inactive_user):
    key = activation.make_activation_key(inactive_user)
    nonce = inactive_user.pending_activation.nonce
    assert signing.loads(key, salt="ublog_accounts.activation") == [
        str(inactive_user.pk),
        nonce,
    ]
    with pytest.raises(signing.BadSignature):
        signing.loads(key)  # another salt does not verify


def test_validate_key_returns_pk_and_nonce(inactive_user):
    key = activation.make_activation_key(inactive_user)
    assert activation.validate_key(key) == (
        str(inactive_user.pk),
        inactive_user.pending_activation.nonce,
    )


def test_make_key_needs_a_pending_activation(active_user, deactivated_user):
    for user in (active_user, deactivated_user):
        with pytest.raises(PendingActivation.DoesNotExist):
            activation.make_activation_key(user)


def test_start_creates_the_pending_row(make_user):
    user = make_user("erin", active=False, pending=False)
    before = timezone.now()
    pending = activation.start(user)
    assert pending == PendingActivation.objects.get(user=user)
    assert len(pending.nonce) == 22  # secrets.token_urlsafe(16)
    assert before <= pending.sent_at <= timezone.now()
    assert str(pending) == f"activation of user {user.pk}"


def test_start_again_revokes_earlier_keys(inactive_user):
    old_key = activation.make_activation_key(inactive_user)
    old_nonce = inactive_user.pending_activation.nonce
    pending = activation.start(inactive_user)
    assert pending.nonce != old_nonce
    assert PendingActivation.objects.count() == 1
    assert code_of(activation.activate, old_key) == "revoked"
    assert activation.activate(activation.make_activation_key(inactive_user))


def test_refresh_keeps_the_nonce_and_earlier_keys(inactive_user):
    first_key = activation.make_activation_key(inactive_user)
    PendingActivation.objects.update(
        sent_at=timezone.now() - datetime.timedelta(days=3)
    )
    nonce = PendingActivation.objects.get().nonce
    assert activation.refresh(inactive_user) is True
    pending = PendingActivation.objects.get()
    assert pending.nonce == nonce
    assert timezone.now() - pending.sent_at < datetime.timedelta(minutes=1)
    second_key = activation.make_activation_key(inactive_user)
    assert activation.validate_key(first_key) == activation.validate_key(second_key)
    assert activation.activate(first_key).is_active


def test_refresh_without_pending_row(deactivated_user):
    assert activation.refresh(deactivated_user) is False
    assert not PendingActivation.objects.exists()


def test_is_pending_and_pending_users(inactive_user, active_user, deactivated_user):
    assert activation.is_pending(inactive_user)
    assert not activation.is_pending(active_user)
    assert not activation.is_pending(deactivated_user)
    assert list(activation.pending_users()) == [inactive_user]


def test_activate(inactive_user):
    key = activation.make_activation_key(inactive_user)
    user = activation.activate(key)
    assert user.pk == inactive_user.pk
    inactive_user.refresh_from_db()
    assert inactive_user.is_active
    assert not PendingActivation.objects.exists()


def test_activate_twice_is_already_activated(inactive_user):
    key = activation.make_activation_key(inactive_user)
    activation.activate(key)
    assert code_of(activation.activate, key) == "already_activated"


@pytest.mark.parametrize(
    "key", ["", "garbage", "a:b:c", "alice:1:abc", "complete", "x" * 500]
)
def test_invalid_keys(key):
    assert code_of(activation.validate_key, key) == "invalid_key"


@pytest.mark.parametrize("key", [None, b"bytes", 42, "\ud800:x:y"])
def test_keys_of_wrong_type_or_encoding_are_invalid(key):
    assert code_of(activation.validate_key, key) == "invalid_key"


def test_tampered_key(inactive_user):
    key = activation.make_activation_key(inactive_user)
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert code_of(activation.activate, tampered) == "invalid_key"
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


def test_key_signed_with_other_secret(inactive_user, settings):
    key = activation.make_activation_key(inactive_user)
    settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY
    assert code_of(activation.validate_key, key) == "invalid_key"


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "alice"},
        [],
        ["1"],
        ["1", "nonce", "extra"],
        [1, "nonce"],
        ["1", None],
        ("1", 2),
        "1",
    ],
)
def test_key_with_other_payload_is_invalid(payload):
    key = signing.dumps(payload, salt=activation.SALT)
    assert code_of(activation.validate_key, key) == "invalid_key"


def test_key_of_the_first_version_is_invalid(inactive_user):
    # The first version signed only the username.
    key = signing.dumps("alice", salt=activation.SALT)
    assert code_of(activation.activate, key) == "invalid_key"
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


@pytest.mark.parametrize(
    "pk", ["abc", "", "1.5", " ", "9223372036854775808", "-99999999999999999999"]
)
def test_key_with_a_bad_pk_value_is_invalid(inactive_user, pk):
    nonce = inactive_user.pending_activation.nonce
    key = signing.dumps([pk, nonce], salt=activation.SALT)
    assert activation.validate_key(key) == (pk, nonce)
    assert code_of(activation.activate, key) == "invalid_key"


def test_expired_key(inactive_user, days_ago):
    with days_ago(8):
        key = activation.make_activation_key(inactive_user)
    with pytest.raises(ActivationError) as info:
        activation.activate(key)
    assert info.value.code == "expired"
    assert info.value.params == {"days": 7}
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


def test_key_within_expiry_is_valid(inactive_user, days_ago):
    with days_ago(6):
        key = activation.make_activation_key(inactive_user)
    assert activation.activate(key).is_active


def test_activation_days_setting_read_at_call_time(inactive_user, days_ago, settings):
    with days_ago(2):
        key = activation.make_activation_key(inactive_user)
    settings.UBLOG_ACCOUNTS_ACTIVATION_DAYS = 1
    assert activation.activation_days() == 1
    with pytest.raises(ActivationError) as info:
        activation.validate_key(key)
    assert info.value.code == "expired"
    assert "1 days" in str(info.value)
    settings.UBLOG_ACCOUNTS_ACTIVATION_DAYS = 3
    assert activation.validate_key(key)[0] == str(inactive_user.pk)


def test_default_activation_days(settings):
    assert not hasattr(settings, "UBLOG_ACCOUNTS_ACTIVATION_DAYS")
    assert activation.activation_days() == 7


def test_deleted_user_is_bad_username(inactive_user):
    key = activation.make_activation_key(inactive_user)
    inactive_user.delete()
    with pytest.raises(ActivationError) as info:
        activation.activate(key)
    assert info.value.code == "bad_username"
    assert "no longer exists" in str(info.value)


def test_get_user(inactive_user, active_user, deactivated_user):
    nonce = inactive_user.pending_activation.nonce
    assert activation.get_user(str(inactive_user.pk), nonce) == inactive_user
    assert activation.get_user(inactive_user.pk, nonce, for_update=True)
    assert code_of(activation.get_user, str(active_user.pk), nonce) == (
        "already_activated"
    )
    assert code_of(activation.get_user, "987654", nonce) == "bad_username"
    assert code_of(activation.get_user, "nobody", nonce) == "invalid_key"
    # Inactive, but not waiting for activation, or waiting for another nonce.
    assert code_of(activation.get_user, str(deactivated_user.pk), nonce) == "revoked"
    other = nonce[:-1] + ("A" if nonce[-1] != "A" else "B")
    assert code_of(activation.get_user, str(inactive_user.pk), other) == "revoked"
    assert code_of(activation.get_user, str(inactive_user.pk), "") == "revoked"


def test_deactivated_account_is_revoked(inactive_user):
    """An account an admin deactivated is not reactivated by its old link."""
    key = activation.make_activation_key(inactive_user)
    activation.activate(key)
    inactive_user.refresh_from_db()
    inactive_user.is_active = False
    inactive_user.save()
    assert code_of(activation.activate, key) == "revoked"
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


def test_key_of_a_deleted_account_does_not_activate_its_successor(make_user):
    first = make_user("alice", active=False)
    key = activation.make_activation_key(first)
    first.delete()
    second = make_user("alice", active=False)
    assert code_of(activation.activate, key) == "bad_username"
    second.refresh_from_db()
    assert not second.is_active


def test_key_with_the_pk_of_another_account_is_revoked(make_user):
    alice = make_user("alice", active=False)
    carol = make_user("carol", active=False)
    nonce = alice.pending_activation.nonce
    key = signing.dumps([str(carol.pk), nonce], salt=activation.SALT)
    assert code_of(activation.activate, key) == "revoked"
    carol.refresh_from_db()
    assert not carol.is_active


def test_activation_by_hand_ends_the_pending_activation(inactive_user):
    key = activation.make_activation_key(inactive_user)
    # Saves that do not touch is_active keep the row (e.g. a login).
    inactive_user.save(update_fields=["last_login"])
    assert activation.is_pending(inactive_user)
    # An administrator activates the account, then deactivates it again.
    inactive_user.is_active = True
    inactive_user.save()
    assert not PendingActivation.objects.exists()
    inactive_user.is_active = False
    inactive_user.save(update_fields=["is_active"])
    assert code_of(activation.activate, key) == "revoked"


def test_saving_an_active_user_without_is_active_keeps_a_pending_row(inactive_user):
    get_user_model().objects.filter(pk=inactive_user.pk).update(is_active=True)
    inactive_user.refresh_from_db()
    inactive_user.save(update_fields=["password"])
    assert activation.is_pending(inactive_user)
