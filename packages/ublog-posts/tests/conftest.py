"""Fixtures: a private MEDIA_ROOT per test, users and posts, the list cache
and on_commit callbacks."""

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import caches

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
def moderator(django_user_model):
    """A staff user with the permission to change posts (not a superuser)."""
    user = django_user_model.objects.create_user("mod", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="ublog_posts", codename="change_post"
        )
    )
    return user


@pytest.fixture
def staff_user(django_user_model):
    """A staff user without any permission on posts."""
    return django_user_model.objects.create_user("staff", password="pw", is_staff=True)


@pytest.fixture
def post(user):
    return Post.objects.create(text="Hello from Alice", owner=user)


@pytest.fixture
def anonymous_post(db):
    return Post.objects.create(text="Nobody's post")


@pytest.fixture
def cache_on(settings):
    """The anonymous list cache, on and empty."""
    settings.UBLOG_POSTS_LIST_CACHE_SECONDS = 60
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the test transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
