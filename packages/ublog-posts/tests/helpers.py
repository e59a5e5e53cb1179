"""Helpers for the tests: real images made with Pillow, uploads."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image


def image_bytes(image_format="PNG", size=(8, 6), color=(200, 30, 90)):
    """A real image made with Pillow, as bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=image_format)
    return buffer.getvalue()


def upload(content, name="picture.png", content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


GPS_POSITION = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}


def camera_jpeg(size=(60, 40), orientation=None):
    """A JPEG as a phone writes it: camera, GPS position, an orientation, an
    ICC profile and an XMP packet."""
    image = Image.new("RGB", size, (10, 120, 200))
    image.paste((250, 10, 10), (0, 0, size[0] // 2, size[1] // 2))  # top left red
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 12 Secret"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS_POSITION)
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        exif=exif,
        icc_profile=b"\0" * 128 + b"fake profile",
        xmp=b"<x:xmpmeta>Secret Place</x:xmpmeta>",
    )
    return out.getvalue()
