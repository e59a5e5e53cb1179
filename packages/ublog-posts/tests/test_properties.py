"""Properties of the post form, over inputs hypothesis makes up.

Whatever the text and whatever the bytes of the "image", the form answers
with a verdict and known error codes, never an exception; what it accepts is
stored under a name of the site's choosing, inside MEDIA_ROOT.
"""

import io
import os
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ublog_posts.forms import PostForm
from ublog_posts.models import MAX_TEXT_LENGTH, Post

pytestmark = pytest.mark.django_db

TEXT_CODES = {"required", "max_length", "null_characters_not_allowed"}
IMAGE_CODES = {"invalid_image", "bad_format", "too_large", "empty", "invalid"}
STORED_NAME = re.compile(r"ublog_posts/\d{4}/\d{2}/[0-9a-f]{32}\.(png|jpg|gif|webp)")
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Names a multipart body can carry (Django's parser drops a file whose base
# name is empty, "." or "..", so such a name never reaches a form).
file_names = st.one_of(
    st.text(min_size=1, max_size=80),
    st.sampled_from(
        ["../../etc/passwd.png", "..\\..\\win.png", "/abs/x.png", "a\x00b.png"]
    ),
).filter(lambda name: os.path.basename(name) not in {"", ".", ".."})


def real_image(image_format, width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (width % 256, height % 256, 9)).save(
        buffer, format=image_format
    )
    return buffer.getvalue()


def codes(form, field):
    return {error.code for error in form.errors.as_data().get(field, [])}


@FUZZ
@given(text=st.text(max_size=MAX_TEXT_LENGTH + 50), content=st.binary(max_size=600))
def test_any_text_and_bytes_get_a_verdict_never_an_exception(text, content):
    before = Post.objects.count()
    files = {"image": SimpleUploadedFile("x.png", content, "image/png")}
    form = PostForm(data={"text": text}, files=files)
    valid = form.is_valid()
    assert set(form.errors) <= {"text", "image"}
    assert codes(form, "text") <= TEXT_CODES
    assert codes(form, "image") <= IMAGE_CODES
    if len(text) > MAX_TEXT_LENGTH:
        assert "max_length" in codes(form, "text")
    if valid:  # random bytes are an image only by a miracle: then it is stored
        post = form.save()
        assert STORED_NAME.fullmatch(post.image.name)
    else:
        assert Post.objects.count() == before


@FUZZ
@given(
    image_format=st.sampled_from(["PNG", "JPEG", "GIF", "WEBP"]),
    width=st.integers(1, 48),
    height=st.integers(1, 48),
    name=file_names,
    content_type=st.sampled_from(["image/png", "text/html", "application/x-php"]),
)
def test_real_images_are_stored_under_a_safe_name(
    media_root, image_format, width, height, name, content_type
):
    content = real_image(image_format, width, height)
    upload = SimpleUploadedFile(name, content, content_type)
    form = PostForm(
        data={"text": "a picture", "image_alt": "a picture"}, files={"image": upload}
    )
    assert form.is_valid(), form.errors
    post = form.save()
    assert STORED_NAME.fullmatch(post.image.name), post.image.name
    stored = (media_root / post.image.name).resolve()
    assert stored.is_relative_to(Path(media_root).resolve())
    with Image.open(stored) as image:  # re-encoded: the same picture
        assert (image.format, image.size) == (image_format, (width, height))
    assert STORED_NAME.fullmatch(post.thumbnail.name.replace("thumbnails/", ""))


@FUZZ
@given(
    image_format=st.sampled_from(["BMP", "TIFF", "PPM", "ICO"]),
    prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"GIF89a"]),
)
def test_other_formats_and_polyglots_are_refused(image_format, prefix):
    content = prefix + real_image(image_format, 4, 3)
    upload = SimpleUploadedFile("x.png", content, "image/png")
    form = PostForm(data={"text": "x", "image_alt": "x"}, files={"image": upload})
    assert not form.is_valid()
    assert codes(form, "image") & {"bad_format", "invalid_image"}
