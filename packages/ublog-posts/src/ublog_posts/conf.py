"""App settings with their defaults, always read at call time."""

from django.conf import settings

DEFAULT_MAX_IMAGE_SIZE = 5 * 1024 * 1024
DEFAULT_IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
DEFAULT_PER_PAGE = 20


def max_image_size():
    """Largest accepted upload, in bytes (``UBLOG_POSTS_MAX_IMAGE_SIZE``)."""
    return int(getattr(settings, "UBLOG_POSTS_MAX_IMAGE_SIZE", DEFAULT_MAX_IMAGE_SIZE))


def image_formats():
    """Accepted Pillow format names, upper case (``UBLOG_POSTS_IMAGE_FORMATS``)."""
    formats = getattr(settings, "UBLOG_POSTS_IMAGE_FORMATS", DEFAULT_IMAGE_FORMATS)
    return tuple(str(name).upper() for name in formats)


def per_page():
    """Posts per page of the list view (``UBLOG_POSTS_PER_PAGE``)."""
    return int(getattr(settings, "UBLOG_POSTS_PER_PAGE", DEFAULT_PER_PAGE))
