"""Models: str, ordering, constraints, upload names, the delete signal."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from tests.helpers import image_bytes, upload
from ublog_posts.models import (
    MAX_TEXT_LENGTH,
    Like,
    Post,
    detect_image_format,
    post_image_upload_to,
)

pytestmark = pytest.mark.django_db


def test_str_is_short_single_line_text():
    post = Post(text="line one\nline two " + "x" * 100)
    assert str(post).startswith("line one line two x")
    assert len(str(post)) == 50
    assert str(Post(text="short")) == "short"


def test_like_str(post, user):
    like = Like.objects.create(user=user, post=post)
    assert str(like) == "alice \N{BLACK HEART SUIT} Hello from Alice"


def test_get_absolute_url(post):
    assert post.get_absolute_url() == f"/{post.pk}/"


def test_ordering_newest_first():
    now = timezone.now()
    old = Post.objects.create(text="old", created=now - timedelta(days=1))
    new = Post.objects.create(text="new", created=now)
    same_time = Post.objects.create(text="same", created=now)
    assert list(Post.objects.all()) == [same_time, new, old]


def test_text_max_length_validated():
    post = Post(text="x" * (MAX_TEXT_LENGTH + 1))
    with pytest.raises(ValidationError) as info:
        post.full_clean()
    assert "text" in info.value.message_dict
    Post(text="x" * MAX_TEXT_LENGTH).full_clean()


def test_duplicate_like_is_refused(post, user):
    Like.objects.create(user=user, post=post)
    with pytest.raises(IntegrityError):
        Like.objects.create(user=user, post=post)


def test_owner_deleted_keeps_post(post, user):
    user.delete()
    post.refresh_from_db()
    assert post.owner is None


def test_can_be_changed_by(post, user, other_user, anonymous_post):
    from django.contrib.auth.models import AnonymousUser

    assert post.can_be_changed_by(user)
    assert not post.can_be_changed_by(other_user)
    assert not post.can_be_changed_by(AnonymousUser())
    assert not post.can_be_changed_by(None)
    assert not anonymous_post.can_be_changed_by(user)


NAME = re.compile(r"^ublog_posts/\d{4}/\d{2}/[0-9a-f]{32}\.(\w+)$")


@pytest.mark.parametrize(
    ("image_format", "extension"),
    [("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"), ("WEBP", "webp"), ("BMP", "bmp")],
)
def test_upload_to_uses_uuid_and_detected_format(image_format, extension):
    post = Post(text="x", image=upload(image_bytes(image_format), name="../evil.exe"))
    name = post_image_upload_to(post, "../evil.exe")
    match = NAME.match(name)
    assert match, name
    assert match.group(1) == extension
    assert "evil" not in name
    now = timezone.now()
    assert name.startswith(f"ublog_posts/{now:%Y}/{now:%m}/")
    assert name != post_image_upload_to(post, "../evil.exe")


def test_upload_to_prefers_format_found_by_form():
    image = upload(image_bytes("PNG"), name="a.jpg")
    image.ublog_format = "JPEG"
    assert post_image_upload_to(Post(image=image), "a.jpg").endswith(".jpg")


def test_upload_to_without_image_data():
    assert post_image_upload_to(Post(image=upload(b"no image")), "a.png").endswith(
        ".bin"
    )
    assert post_image_upload_to(Post(), "a.png").endswith(".bin")


def test_detect_image_format_keeps_position():
    image = upload(image_bytes("GIF"))
    image.seek(3)
    assert detect_image_format(image) == "GIF"
    assert image.tell() == 3
    assert detect_image_format(None) is None


def test_saved_image_gets_random_name(media_root):
    post = Post.objects.create(
        text="x", image=upload(image_bytes("JPEG"), name="holiday.png")
    )
    assert NAME.match(post.image.name).group(1) == "jpg"
    assert (media_root / post.image.name).is_file()


def test_deleting_post_removes_image_after_commit(
    media_root, django_capture_on_commit_callbacks
):
    post = Post.objects.create(text="x", image=upload(image_bytes()))
    path = media_root / post.image.name
    assert path.is_file()
    with django_capture_on_commit_callbacks(execute=True):
        post.delete()
    assert not path.exists()


def test_deleting_post_without_image(django_capture_on_commit_callbacks):
    post = Post.objects.create(text="x")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post.delete()
    assert callbacks == []
