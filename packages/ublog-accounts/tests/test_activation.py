"""The pure activation functions: make_activation_key, validate_key, activate."""

import pytest
from django.core import signing

from ublog_accounts import activation
from ublog_accounts.exceptions import ActivationError

pytestmark = pytest.mark.django_db


def test_key_is_signed_username_with_salt(inactive_user):
    key = activation.make_activation_key(inactive_user)
    assert signing.loads(key, salt="ublog_accounts.activation") == "alice"
    with pytest.raises(signing.BadSignature):
        signing.loads(key)  # another salt does not verify


def test_validate_key_returns_username(inactive_user):
    key = activation.make_activation_key(inactive_user)
    assert activation.validate_key(key) == "alice"


def test_activate(inactive_user):
    key = activation.make_activation_key(inactive_user)
    user = activation.activate(key)
    assert user.pk == inactive_user.pk
    inactive_user.refresh_from_db()
    assert inactive_user.is_active


def test_activate_twice_is_already_activated(inactive_user):
    key = activation.make_activation_key(inactive_user)
    activation.activate(key)
    with pytest.raises(ActivationError) as info:
        activation.activate(key)
    assert info.value.code == "already_activated"


@pytest.mark.parametrize(
    "key", ["", "garbage", "a:b:c", "alice:1:abc", "complete", "x" * 500]
)
def test_invalid_keys(key):
    with pytest.raises(ActivationError) as info:
        activation.validate_key(key)
    assert info.value.code == "invalid_key"


@pytest.mark.parametrize("key", [None, b"bytes", 42, "\ud800:x:y"])
def test_keys_of_wrong_type_or_encoding_are_invalid(key):
    with pytest.raises(ActivationError) as info:
        activation.validate_key(key)
    assert info.value.code == "invalid_key"


def test_tampered_key(inactive_user):
    key = activation.make_activation_key(inactive_user)
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    with pytest.raises(ActivationError) as info:
        activation.activate(tampered)
    assert info.value.code == "invalid_key"
    inactive_user.refresh_from_db()
    assert not inactive_user.is_active


def test_key_signed_with_other_secret(inactive_user, settings):
    key = activation.make_activation_key(inactive_user)
    settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY
    with pytest.raises(ActivationError) as info:
        activation.validate_key(key)
    assert info.value.code == "invalid_key"


def test_key_with_non_string_payload():
    key = signing.dumps({"username": "alice"}, salt=activation.SALT)
    with pytest.raises(ActivationError) as info:
        activation.validate_key(key)
    assert info.value.code == "invalid_key"


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
    assert activation.validate_key(key) == "alice"


def test_default_activation_days(settings):
    assert not hasattr(settings, "UBLOG_ACCOUNTS_ACTIVATION_DAYS")
    assert activation.activation_days() == 7


def test_deleted_user_is_bad_username(inactive_user):
    key = activation.make_activation_key(inactive_user)
    inactive_user.delete()
    with pytest.raises(ActivationError) as info:
        activation.activate(key)
    assert info.value.code == "bad_username"


def test_get_user(inactive_user, active_user):
    assert activation.get_user("alice") == inactive_user
    with pytest.raises(ActivationError) as info:
        activation.get_user("bob")
    assert info.value.code == "already_activated"
    with pytest.raises(ActivationError) as info:
        activation.get_user("nobody")
    assert info.value.code == "bad_username"
