"""Shared fixtures: users in each state, time travel for keys, a mail server
that is down."""

import os
import socket
import tempfile
import time
from unittest import mock

import django
import hypothesis
import pytest
from django.contrib.auth import get_user_model

from ublog_accounts import activation

PASSWORD = "correct horse battery staple"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

# Tests must not write into the source tree: no example database, and
# Hypothesis' other caches go to a temporary directory.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY",
    os.path.join(tempfile.gettempdir(), "ublog-accounts-hypothesis"),
)
hypothesis.settings.register_profile("ublog", database=None)
hypothesis.settings.load_profile("ublog")


@pytest.fixture
def make_user(db):
    """Make a user. Inactive users wait for activation (have a pending row)
    unless ``pending=False``: an account an administrator deactivated."""

    def make(username="alice", email=None, *, active=True, pending=None):
        user = get_user_model().objects.create_user(
            username=username,
            email=email or f"{username}@example.com",
            password=PASSWORD,
        )
        if not active:
            user.is_active = False
            user.save()
        if pending is None:
            pending = not active
        if pending:
            activation.start(user)
        return user

    return make


@pytest.fixture
def inactive_user(make_user):
    """alice, signed up and waiting for activation."""
    return make_user("alice", active=False)


@pytest.fixture
def active_user(make_user):
    return make_user("bob", active=True)


@pytest.fixture
def deactivated_user(make_user):
    """dave, an account an administrator deactivated (no pending row)."""
    return make_user("dave", active=False, pending=False)


@pytest.fixture
def days_ago():
    """A context manager that makes ``time.time()`` return N days ago."""

    def travel(days):
        return mock.patch("time.time", return_value=time.time() - days * 86400)

    return travel


def closed_port():
    """A loopback TCP port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_down(settings):
    """Send mail with Django's real SMTP backend to a server that is down."""
    port = closed_port()
    if django.VERSION >= (6, 1):
        settings.MAILERS = {
            "default": {
                "BACKEND": SMTP_BACKEND,
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
            }
        }
    else:
        settings.EMAIL_BACKEND = SMTP_BACKEND
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_TIMEOUT = 5
    return port


def mail_errors(caplog):
    """The records of mail that could not be sent, logged by the app."""
    return [
        record
        for record in caplog.records
        if record.name == "ublog_accounts"
        and record.levelname == "ERROR"
        and record.exc_info
        and isinstance(record.exc_info[1], OSError)
    ]
