"""The app in a project: app config, migrations, fixture, admin, settings."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from tests.helpers import image_bytes, upload
from ublog_posts import conf
from ublog_posts.models import Like, Post


def test_app_config():
    config = apps.get_app_config("ublog_posts")
    assert config.default_auto_field == "django.db.models.BigAutoField"
    assert str(config.verbose_name) == "ublog posts"
    assert Post._meta.pk.get_internal_type() == "BigAutoField"


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "ublog_posts", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_demo_fixture_loads():
    call_command("loaddata", "ublog_posts_demo", verbosity=0)
    posts = list(Post.objects.all())
    assert len(posts) == 5
    assert all(post.owner is None for post in posts)
    assert posts[0].created > posts[-1].created
    call_command("loaddata", "ublog_posts_demo", verbosity=0)
    assert Post.objects.count() == 5


def test_settings_defaults(settings):
    for name in (
        "UBLOG_POSTS_MAX_IMAGE_SIZE",
        "UBLOG_POSTS_IMAGE_FORMATS",
        "UBLOG_POSTS_PER_PAGE",
    ):
        if hasattr(settings, name):
            delattr(settings, name)
    assert conf.max_image_size() == 5 * 1024 * 1024
    assert conf.image_formats() == ("JPEG", "PNG", "GIF", "WEBP")
    assert conf.per_page() == 20
    settings.UBLOG_POSTS_PER_PAGE = "7"
    assert conf.per_page() == 7


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["post", "like"])
def test_admin_pages_load(admin_client, admin_user, model):
    post = Post.objects.create(
        text="admin me", owner=admin_user, image=upload(image_bytes())
    )
    Post.objects.create(text="anonymous")
    Like.objects.create(user=admin_user, post=post)
    changelist = reverse(f"admin:ublog_posts_{model}_changelist")
    response = admin_client.get(changelist)
    assert response.status_code == 200
    assert b"admin me" in response.content
    response = admin_client.get(changelist, {"q": "admin"})
    assert response.status_code == 200
    assert b"admin me" in response.content
    obj = post if model == "post" else Like.objects.get()
    change = reverse(f"admin:ublog_posts_{model}_change", args=[obj.pk])
    assert admin_client.get(change).status_code == 200
    assert (
        admin_client.get(reverse(f"admin:ublog_posts_{model}_add")).status_code == 200
    )
