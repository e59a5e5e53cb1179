"""``manage.py processimages``: images stored before uploads were re-encoded
get re-encoded (their metadata gone, under a new name) and a thumbnail; the
broken ones are named and left; a second run does nothing."""

import io

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.helpers import camera_jpeg, image_bytes, upload
from ublog_posts.models import Post

pytestmark = pytest.mark.django_db(transaction=True)


def stored_as_before(content, name="photo.jpg"):
    """A post whose image was stored as uploaded, as before this version."""
    return Post.objects.create(text="old", image=upload(content, name=name))


def run():
    out = io.StringIO()
    call_command("processimages", stdout=out)
    return out.getvalue()


def test_old_images_are_reencoded_and_get_thumbnails(media_root):
    post = stored_as_before(camera_jpeg(size=(1000, 700), orientation=6))
    old = media_root / post.image.name
    assert b"PhoneMaker" in old.read_bytes()
    untouched = Post.objects.create(text="no image")
    assert run() == "processed 1 image(s)\n"
    post.refresh_from_db()
    assert not old.exists(), "the file with the GPS position is still served"
    stored = (media_root / post.image.name).read_bytes()
    assert b"PhoneMaker" not in stored and b"Exif" not in stored
    with Image.open(media_root / post.thumbnail.name) as thumbnail:
        assert thumbnail.size == (640, 914)  # upright, then 640 px wide
    assert (post.image_width, post.image_height) == (700, 1000)
    assert (post.thumbnail_width, post.thumbnail_height) == (640, 914)
    assert post.text == "old"
    untouched.refresh_from_db()
    assert not untouched.image
    assert run() == ""  # nothing left to do


def test_broken_images_are_named_and_left(media_root):
    good = stored_as_before(image_bytes("PNG"), name="a.png")
    broken = stored_as_before(camera_jpeg()[:300])
    missing = stored_as_before(image_bytes("GIF"), name="b.gif")
    (media_root / missing.image.name).unlink()
    with pytest.raises(CommandError) as info:
        run()
    message = str(info.value)
    assert message.startswith("2 image(s) left as they are")
    assert f"post {broken.pk}: Upload a valid image" in message
    assert f"post {missing.pk}:" in message
    good.refresh_from_db()
    broken.refresh_from_db()
    assert good.thumbnail and not broken.thumbnail
    assert (media_root / broken.image.name).is_file()
