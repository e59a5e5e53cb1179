"""Fixtures: a private MEDIA_ROOT per test, users and posts."""

import pytest

from ublog_posts.models import Post


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    """Uploaded files go to a tmp_path that pytest removes afterwards."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw")


@pytest.fixture
def post(user):
    return Post.objects.create(text="Hello from Alice", owner=user)


@pytest.fixture
def anonymous_post(db):
    return Post.objects.create(text="Nobody's post")
