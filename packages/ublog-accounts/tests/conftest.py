"""Shared fixtures: users in each state and a helper to time-travel keys."""

import os
import tempfile
import time
from unittest import mock

import hypothesis
import pytest
from django.contrib.auth import get_user_model

PASSWORD = "correct horse battery staple"

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
    def make(username="alice", email=None, *, active=True):
        user = get_user_model().objects.create_user(
            username=username,
            email=email or f"{username}@example.com",
            password=PASSWORD,
        )
        if not active:
            user.is_active = False
            user.save()
        return user

    return make


@pytest.fixture
def inactive_user(make_user):
    return make_user("alice", active=False)


@pytest.fixture
def active_user(make_user):
    return make_user("bob", active=True)


@pytest.fixture
def days_ago():
    """A context manager that makes ``time.time()`` return N days ago."""

    def travel(days):
        return mock.patch("time.time", return_value=time.time() - days * 86400)

    return travel
