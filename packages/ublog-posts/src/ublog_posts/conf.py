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


def list_cache_seconds():
    """Seconds an anonymous list page stays cached, 0 for never
    (``UBLOG_POSTS_LIST_CACHE_SECONDS``; see ``list_cache``)."""
    return int(getattr(settings, "UBLOG_POSTS_LIST_CACHE_SECONDS", 0))


def list_cache():
    """Cache alias for the pages (``UBLOG_POSTS_LIST_CACHE``)."""
    return getattr(settings, "UBLOG_POSTS_LIST_CACHE", "default")


def list_generation_cache():
    """Cache alias for the generation token, shared by every process
    (``UBLOG_POSTS_LIST_GENERATION_CACHE``, default: the pages' alias)."""
    return getattr(settings, "UBLOG_POSTS_LIST_GENERATION_CACHE", list_cache())
