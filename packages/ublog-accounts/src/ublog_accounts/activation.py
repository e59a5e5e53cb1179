"""Activation keys: make, validate and use HMAC-signed, expiring keys.

A key is ``django.core.signing.dumps(username, salt=SALT)``: the username,
a timestamp and an HMAC signature made with ``SECRET_KEY``. Nothing is stored
in the database; the key expires after ``UBLOG_ACCOUNTS_ACTIVATION_DAYS``.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction

from .exceptions import ActivationError

SALT = "ublog_accounts.activation"
DEFAULT_ACTIVATION_DAYS = 7


def activation_days():
    """The number of days an activation key is valid (read at call time)."""
    return getattr(settings, "UBLOG_ACCOUNTS_ACTIVATION_DAYS", DEFAULT_ACTIVATION_DAYS)


def make_activation_key(user):
    """Return the signed, timestamped activation key for ``user``."""
    return signing.dumps(user.get_username(), salt=SALT)


def validate_key(activation_key):
    """Check the signature and age of ``activation_key``; return the username.

    Raise ``ActivationError`` with code ``expired`` or ``invalid_key``.
    """
    if not isinstance(activation_key, str):
        raise ActivationError.from_code(ActivationError.INVALID_KEY)
    days = activation_days()
    try:
        username = signing.loads(
            activation_key, salt=SALT, max_age=datetime.timedelta(days=days)
        )
    except signing.SignatureExpired:
        raise ActivationError.from_code(
            ActivationError.EXPIRED, params={"days": days}
        ) from None
    except (signing.BadSignature, UnicodeError):
        # UnicodeError: lone surrogates, which cannot be HMAC'ed as UTF-8.
        raise ActivationError.from_code(ActivationError.INVALID_KEY) from None
    if not isinstance(username, str):
        # Signed with our salt but not by make_activation_key().
        raise ActivationError.from_code(ActivationError.INVALID_KEY)
    return username


def get_user(username, *, for_update=False):
    """Return the inactive user named ``username``.

    Raise ``ActivationError`` with code ``bad_username`` (no such user) or
    ``already_activated``.
    """
    user_model = get_user_model()
    queryset = user_model._default_manager.all()
    if for_update:
        queryset = queryset.select_for_update()
    try:
        user = queryset.get(**{user_model.USERNAME_FIELD: username})
    except user_model.DoesNotExist:
        raise ActivationError.from_code(ActivationError.BAD_USERNAME) from None
    if user.is_active:
        raise ActivationError.from_code(ActivationError.ALREADY_ACTIVATED)
    return user


def activate(activation_key):
    """Activate the account ``activation_key`` was made for; return the user.

    Raise ``ActivationError`` (any of its codes) if that is not possible.
    """
    username = validate_key(activation_key)
    with transaction.atomic():
        user = get_user(username, for_update=True)
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user
