"""Helpers for the tests: real images made with Pillow, uploads."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_bytes(image_format="PNG", size=(8, 6), color=(200, 30, 90)):
    """A real image made with Pillow, as bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=image_format)
    return buffer.getvalue()


def upload(content, name="picture.png", content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)
