"""Activation keys and pending activations: make, check and use them.

An account waiting for activation has a ``PendingActivation`` row holding a
random ``nonce``. A key is ``django.core.signing.dumps([str(user.pk), nonce],
salt=SALT)``: the user's primary key and the nonce, a timestamp and an HMAC
signature made with ``SECRET_KEY``. A key thus activates only the account it
was made for, only while that account waits for activation (activation
deletes the row), and only for ``UBLOG_ACCOUNTS_ACTIVATION_DAYS``.

Locking: code that changes a pending row locks its user's row first
(``select_for_update()`` on the user model, never joined), so concurrent
activations, sign-ups, resends and cleanups wait for each other.
"""

import datetime
import secrets
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from .exceptions import ActivationError
from .models import PendingActivation

SALT = "ublog_accounts.activation"
DEFAULT_ACTIVATION_DAYS = 7


def activation_days():
    """The number of days an activation key is valid (read at call time)."""
    return getattr(settings, "UBLOG_ACCOUNTS_ACTIVATION_DAYS", DEFAULT_ACTIVATION_DAYS)


def new_nonce():
    """A new random nonce for a pending activation."""
    return secrets.token_urlsafe(16)


def start(user):
    """Mark ``user`` as waiting for activation; return its PendingActivation.

    Create the row, or give the existing one a new nonce (which revokes every
    link sent before); ``sent_at`` is now. Call it before sending the first
    activation e-mail.
    """
    pending, _created = PendingActivation.objects.update_or_create(
        user=user, defaults={"nonce": new_nonce(), "sent_at": timezone.now()}
    )
    return pending


def refresh(user):
    """Record that a new activation e-mail is sent to ``user`` now.

    Only ``sent_at`` changes: the nonce stays, so every link sent stays valid
    for its own validity period. Return whether ``user`` has a pending row.
    """
    updated = PendingActivation.objects.filter(user=user).update(sent_at=timezone.now())
    return updated > 0


def is_pending(user):
    """Whether ``user`` waits for activation (has a pending row)."""
    return PendingActivation.objects.filter(user=user).exists()


def pending_users():
    """The inactive users waiting for activation, as a queryset."""
    return get_user_model()._default_manager.filter(
        is_active=False, pk__in=PendingActivation.objects.values("user")
    )


def make_activation_key(user):
    """Return the signed, timestamped activation key for ``user``.

    ``user`` must wait for activation (see ``start()``); otherwise raise
    ``PendingActivation.DoesNotExist``.
    """
    nonce = PendingActivation.objects.values_list("nonce", flat=True).get(user=user)
    return signing.dumps([str(user.pk), nonce], salt=SALT)


def validate_key(activation_key):
    """Check the signature and age of ``activation_key``.

    Return its payload, ``(user_pk, nonce)`` (two strings), for ``get_user()``.
    Raise ``ActivationError`` with code ``expired`` or ``invalid_key``.
    """
    if not isinstance(activation_key, str):
        raise ActivationError.from_code(ActivationError.INVALID_KEY)
    days = activation_days()
    try:
        payload = signing.loads(
            activation_key, salt=SALT, max_age=datetime.timedelta(days=days)
        )
    except signing.SignatureExpired:
        raise ActivationError.from_code(
            ActivationError.EXPIRED, params={"days": days}
        ) from None
    except (signing.BadSignature, UnicodeError):
        # UnicodeError: lone surrogates, which cannot be HMAC'ed as UTF-8.
        raise ActivationError.from_code(ActivationError.INVALID_KEY) from None
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and all(isinstance(item, str) for item in payload)
    ):
        # Signed with our salt but not by make_activation_key(), e.g. a key of
        # the first version, which signed only the username.
        raise ActivationError.from_code(ActivationError.INVALID_KEY)
    return tuple(payload)


def get_user(user_pk, nonce, *, for_update=False):
    """Return the inactive user ``user_pk`` if it waits for ``nonce``.

    Raise ``ActivationError`` with code ``invalid_key`` (``user_pk`` is not a
    valid primary key), ``bad_username`` (no such user), ``already_activated``
    or ``revoked`` (the user does not wait for activation, or waits with
    another nonce). With ``for_update``, lock the user's and the pending row
    (inside a transaction).
    """
    user_model = get_user_model()
    pk_field = user_model._meta.pk
    try:
        pk = pk_field.to_python(user_pk)
        pk_field.run_validators(pk)  # e.g. the range of an integer
    except ValidationError:
        raise ActivationError.from_code(ActivationError.INVALID_KEY) from None
    users = user_model._default_manager.all()
    pending = PendingActivation.objects.all()
    if for_update:
        users = users.select_for_update()
        pending = pending.select_for_update()
    try:
        user = users.get(pk=pk)
    except user_model.DoesNotExist:
        raise ActivationError.from_code(ActivationError.BAD_USERNAME) from None
    except OverflowError:  # pragma: no cover - Django 4.2 only
        # Beyond SQLite's integers: Django 5.0+ knows the range (see above).
        raise ActivationError.from_code(ActivationError.INVALID_KEY) from None
    if user.is_active:
        raise ActivationError.from_code(ActivationError.ALREADY_ACTIVATED)
    expected = pending.filter(user=user).values_list("nonce", flat=True).first()
    if expected is None or not constant_time_compare(expected, nonce):
        raise ActivationError.from_code(ActivationError.REVOKED)
    return user


def activate(activation_key):
    """Activate the account ``activation_key`` was made for; return the user.

    The account's pending row is deleted in the same transaction, so the key
    (and every other key sent to the account) cannot be used again. Raise
    ``ActivationError`` (any of its codes) if that is not possible.
    """
    user_pk, nonce = validate_key(activation_key)
    with transaction.atomic():
        user = get_user(user_pk, nonce, for_update=True)
        user.is_active = True
        user.save(update_fields=["is_active"])
        PendingActivation.objects.filter(user=user).delete()
    return user


def forget_activated_user(
    sender, instance, created=False, raw=False, update_fields=None, **kwargs
):
    """``post_save`` receiver: drop the pending row of a user made active.

    An administrator who activates an account by hand ends its activation:
    deactivating it later must not let an old link reactivate it. Saves with
    ``update_fields`` that leave out ``is_active`` (e.g. logins) are skipped.
    """
    if created or raw or not getattr(instance, "is_active", False):
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    PendingActivation.objects.filter(user=instance).delete()


class ExpiredSignups(NamedTuple):
    """What ``delete_expired_signups()`` deleted (or would delete)."""

    #: Inactive users whose activation period is over.
    users: int
    #: Pending rows of users activated some other way (e.g. by an admin).
    activated: int


def delete_expired_signups(*, dry_run=False):
    """Delete the sign-ups whose activation period is over.

    Users still inactive whose pending row's ``sent_at`` is older than
    ``UBLOG_ACCOUNTS_ACTIVATION_DAYS`` are deleted, so that their username
    and e-mail address are free again. Pending rows of users that are active
    are deleted; the users are kept. Users without a pending row (e.g. made
    inactive by an administrator) are never deleted. With ``dry_run``, only
    count. Return an ``ExpiredSignups``.
    """
    user_model = get_user_model()
    cutoff = timezone.now() - datetime.timedelta(days=activation_days())
    expired = user_model._default_manager.filter(
        is_active=False,
        pk__in=PendingActivation.objects.filter(sent_at__lt=cutoff).values("user"),
    )
    activated = PendingActivation.objects.filter(user__is_active=True)
    if dry_run:
        return ExpiredSignups(users=expired.count(), activated=activated.count())
    with transaction.atomic():
        # Lock the users first, as activation does, then delete them (and,
        # by cascade, their pending rows and whatever else they own).
        list(expired.select_for_update().values_list("pk", flat=True))
        _total, deleted = expired.delete()
        _total, cleared = activated.delete()
    return ExpiredSignups(
        users=deleted.get(user_model._meta.label, 0),
        activated=cleared.get(PendingActivation._meta.label, 0),
    )
