"""PostForm: text, the image (checked and re-encoded, see test_images) and
its description, and the files an edit replaces."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.helpers import image_bytes, upload
from ublog_posts.forms import PostForm
from ublog_posts.models import MAX_TEXT_LENGTH, Post

pytestmark = pytest.mark.django_db


ALT = "A small red rectangle"


def form_for(image=None, text="Hello", instance=None, data=None):
    files = {"image": image} if image is not None else {}
    data = {"text": text, "image_alt": ALT, **(data or {})}
    return PostForm(data=data, files=files, instance=instance)


def image_error_codes(form):
    assert not form.is_valid()
    return [error.code for error in form.errors.as_data()["image"]]


def test_text_only_is_valid():
    form = form_for()
    assert form.is_valid(), form.errors
    post = form.save()
    assert post.text == "Hello"
    assert not post.image


def test_text_required_and_bounded():
    assert "text" in form_for(text="").errors
    form = form_for(text="x" * (MAX_TEXT_LENGTH + 1))
    assert [e.code for e in form.errors.as_data()["text"]] == ["max_length"]
    assert form_for(text="x" * MAX_TEXT_LENGTH).is_valid()


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "WEBP"])
def test_real_images_accepted(image_format, media_root):
    form = form_for(upload(image_bytes(image_format), name="x.bin"))
    assert form.is_valid(), form.errors
    post = form.save()
    assert post.image.name.startswith("ublog_posts/")
    assert post.thumbnail.name.startswith("ublog_posts/thumbnails/")
    assert post.image_alt == ALT
    assert (post.image_width, post.image_height) == (8, 6)
    assert (post.thumbnail_width, post.thumbnail_height) == (8, 6)
    with Image.open(media_root / post.image.name) as saved:
        assert saved.format == image_format
        assert saved.size == (8, 6)
    assert (media_root / post.thumbnail.name).is_file()


def test_image_needs_a_description():
    form = form_for(upload(image_bytes()), data={"image_alt": "  "})
    assert not form.is_valid()
    assert [e.code for e in form.errors.as_data()["image_alt"]] == ["alt_required"]
    assert "Describe the image" in form.errors["image_alt"][0]


def test_description_without_image_is_dropped():
    post = form_for().save()
    assert post.image_alt == ""


def test_kept_image_needs_a_description(media_root):
    """An image posted before descriptions existed: the edit asks for one."""
    post = form_for(upload(image_bytes())).save()
    Post.objects.filter(pk=post.pk).update(image_alt="")
    post.refresh_from_db()
    form = form_for(text="changed", instance=post, data={"image_alt": ""})
    assert "image_alt" in form.errors
    form = form_for(text="changed", instance=post, data={"image_alt": "A dot"})
    assert form.is_valid(), form.errors


def test_text_file_renamed_png_rejected():
    form = form_for(upload(b"just some text, honest\n" * 10, name="cat.png"))
    assert image_error_codes(form) == ["invalid_image"]
    assert "valid image" in form.errors["image"][0]


def test_png_header_with_junk_rejected():
    junk = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    assert image_error_codes(form_for(upload(junk))) == ["invalid_image"]


def test_png_with_corrupted_data_rejected():
    data = bytearray(image_bytes("PNG", size=(64, 64)))
    data[-20:-12] = b"XXXXXXXX"  # breaks the IDAT/IEND checksums
    assert image_error_codes(form_for(upload(bytes(data)))) == ["invalid_image"]


def test_oversize_rejected_before_decoding(settings):
    settings.UBLOG_POSTS_MAX_IMAGE_SIZE = 100
    # Not an image at all: the size check must come first.
    form = form_for(upload(b"\0" * 101))
    assert image_error_codes(form) == ["too_large"]
    assert "100" in form.errors["image"][0]
    assert form_for(upload(image_bytes("GIF", size=(2, 2)))).is_valid()


@pytest.mark.parametrize("image_format", ["BMP", "TIFF"])
def test_disallowed_formats_rejected(image_format):
    form = form_for(upload(image_bytes(image_format), name="x.png"))
    assert image_error_codes(form) == ["bad_format"]
    assert image_format in form.errors["image"][0]


def test_formats_setting_read_at_call_time(settings):
    settings.UBLOG_POSTS_IMAGE_FORMATS = ["png"]
    assert form_for(upload(image_bytes("PNG"))).is_valid()
    assert image_error_codes(form_for(upload(image_bytes("GIF")))) == ["bad_format"]


def test_pixel_limit_setting(settings):
    settings.UBLOG_POSTS_MAX_IMAGE_PIXELS = 100
    form = form_for(upload(image_bytes("PNG", size=(20, 20))))
    assert image_error_codes(form) == ["too_large"]
    assert "pixels" in form.errors["image"][0]
    assert form_for(upload(image_bytes("PNG", size=(10, 10)))).is_valid()


def test_pillow_bomb_limit_still_refused(monkeypatch):
    # Pillow's own limit, should a site set it below ours.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    form = form_for(upload(image_bytes("PNG", size=(20, 20))))
    assert image_error_codes(form) == ["too_large"]


def test_big_dimensions_without_big_file():
    # A 1x1 GIF that claims to be 65535x65535: rejected without decoding.
    buffer = io.BytesIO()
    Image.new("P", (1, 1)).save(buffer, format="GIF")
    data = bytearray(buffer.getvalue())
    data[6:10] = b"\xff\xff\xff\xff"  # logical screen width/height
    form = form_for(SimpleUploadedFile("bomb.gif", bytes(data)))
    assert image_error_codes(form) == ["too_large"]


def test_edit_keeps_image_when_no_new_upload(media_root):
    post = form_for(upload(image_bytes())).save()
    name = post.image.name
    form = form_for(text="changed", instance=post)
    assert form.is_valid(), form.errors
    form.save()
    post.refresh_from_db()
    assert post.text == "changed"
    assert post.image.name == name
    assert (media_root / name).is_file()


def test_edit_replacing_image_deletes_old_file(
    media_root, django_capture_on_commit_callbacks
):
    post = form_for(upload(image_bytes())).save()
    old = [media_root / name for name in post.image_files()]
    form = form_for(upload(image_bytes("JPEG")), instance=post)
    assert form.is_valid(), form.errors
    with django_capture_on_commit_callbacks(execute=True):
        form.save()
    assert len(old) == 2
    assert not any(path.exists() for path in old)
    assert all((media_root / name).is_file() for name in post.image_files())


def test_edit_clearing_image_deletes_file(
    media_root, django_capture_on_commit_callbacks
):
    post = form_for(upload(image_bytes())).save()
    old = [media_root / name for name in post.image_files()]
    form = form_for(instance=post, data={"image-clear": "on"})
    assert form.is_valid(), form.errors
    with django_capture_on_commit_callbacks(execute=True):
        form.save()
    post.refresh_from_db()
    assert not post.image and not post.thumbnail and not post.image_alt
    assert post.image_width is None and post.thumbnail_width is None
    assert not any(path.exists() for path in old)


def test_save_without_commit_keeps_old_file(media_root):
    post = form_for(upload(image_bytes())).save()
    old = media_root / post.image.name
    form = form_for(upload(image_bytes("GIF")), instance=post)
    assert form.is_valid()
    form.save(commit=False)
    assert old.is_file()
