"""App settings with their defaults, always read at call time."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

DEFAULT_MAX_IMAGE_SIZE = 5 * 1024 * 1024
DEFAULT_IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
DEFAULT_PER_PAGE = 20
#: 24 megapixels: a 6000 x 4000 photograph. Decoded, about 100 MB.
DEFAULT_MAX_IMAGE_PIXELS = 24_000_000
DEFAULT_MAX_IMAGE_DIMENSION = 2048
DEFAULT_THUMBNAIL_WIDTH = 640
#: Posts each process keeps rendered (``ublog_posts.fragments``).
DEFAULT_POST_CACHE_SIZE = 2000

# What anonymous visitors may do (UBLOG_POSTS_ANONYMOUS_POSTS).
ANONYMOUS_POSTS_OPEN = "open"
ANONYMOUS_POSTS_MODERATED = "moderated"
ANONYMOUS_POSTS_CLOSED = "closed"
ANONYMOUS_POSTS_MODES = (
    ANONYMOUS_POSTS_OPEN,
    ANONYMOUS_POSTS_MODERATED,
    ANONYMOUS_POSTS_CLOSED,
)
DEFAULT_CLIENT_ADDRESS = "ublog_posts.moderation.remote_addr"


def max_image_size():
    """Largest accepted upload, in bytes (``UBLOG_POSTS_MAX_IMAGE_SIZE``)."""
    return int(getattr(settings, "UBLOG_POSTS_MAX_IMAGE_SIZE", DEFAULT_MAX_IMAGE_SIZE))


def image_formats():
    """Accepted Pillow format names, upper case (``UBLOG_POSTS_IMAGE_FORMATS``):
    some of JPEG, PNG, GIF and WEBP, the formats images are re-encoded in.

    Raises ``ImproperlyConfigured`` for any other format.
    """
    formats = getattr(settings, "UBLOG_POSTS_IMAGE_FORMATS", DEFAULT_IMAGE_FORMATS)
    names = tuple(str(name).upper() for name in formats)
    unknown = [name for name in names if name not in DEFAULT_IMAGE_FORMATS]
    if unknown:
        raise ImproperlyConfigured(
            "UBLOG_POSTS_IMAGE_FORMATS may name JPEG, PNG, GIF and WEBP (the "
            f"formats images are re-encoded in), not {', '.join(unknown)}."
        )
    return names


def max_image_pixels():
    """Most pixels an upload may decode to, every frame of an animation
    counted (``UBLOG_POSTS_MAX_IMAGE_PIXELS``); more is refused from the
    header, before decoding."""
    return int(
        getattr(settings, "UBLOG_POSTS_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS)
    )


def max_image_dimension():
    """Longest side, in pixels, of a stored image; larger uploads are scaled
    down (``UBLOG_POSTS_MAX_IMAGE_DIMENSION``)."""
    return int(
        getattr(
            settings, "UBLOG_POSTS_MAX_IMAGE_DIMENSION", DEFAULT_MAX_IMAGE_DIMENSION
        )
    )


def thumbnail_width():
    """Width, in pixels, of the thumbnails lists show
    (``UBLOG_POSTS_THUMBNAIL_WIDTH``)."""
    return int(
        getattr(settings, "UBLOG_POSTS_THUMBNAIL_WIDTH", DEFAULT_THUMBNAIL_WIDTH)
    )


def per_page():
    """Posts per page of the list view (``UBLOG_POSTS_PER_PAGE``)."""
    return int(getattr(settings, "UBLOG_POSTS_PER_PAGE", DEFAULT_PER_PAGE))


def post_cache_size():
    """How many rendered posts each process keeps
    (``UBLOG_POSTS_POST_CACHE_SIZE``; 0 renders every time)."""
    size = getattr(settings, "UBLOG_POSTS_POST_CACHE_SIZE", DEFAULT_POST_CACHE_SIZE)
    return int(size)


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


def anonymous_posts():
    """What anonymous visitors may post (``UBLOG_POSTS_ANONYMOUS_POSTS``):
    ``"open"`` (published at once), ``"moderated"`` (published once a
    moderator approves) or ``"closed"`` (nothing: they must log in).

    Raises ``ImproperlyConfigured`` for any other value.
    """
    mode = getattr(settings, "UBLOG_POSTS_ANONYMOUS_POSTS", ANONYMOUS_POSTS_OPEN)
    if mode not in ANONYMOUS_POSTS_MODES:
        raise ImproperlyConfigured(
            "UBLOG_POSTS_ANONYMOUS_POSTS must be 'open', 'moderated' or 'closed', "
            f"not {mode!r}."
        )
    return mode


def client_address():
    """The function that gives a request's client address, ``function(request)
    -> str`` (``UBLOG_POSTS_CLIENT_ADDRESS``, its dotted path; by default
    ``REMOTE_ADDR``, see ``moderation.remote_addr``).

    Raises ``ImproperlyConfigured`` when the path is not a string, cannot be
    imported or does not name a callable.
    """
    path = getattr(settings, "UBLOG_POSTS_CLIENT_ADDRESS", DEFAULT_CLIENT_ADDRESS)
    if not isinstance(path, str):
        raise ImproperlyConfigured(
            "UBLOG_POSTS_CLIENT_ADDRESS must be the dotted path of a function "
            f"(such as 'mysite.net.client_address'), not {path!r}."
        )
    try:
        function = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"UBLOG_POSTS_CLIENT_ADDRESS: {path!r} cannot be imported: {exc}"
        ) from exc
    if not callable(function):
        raise ImproperlyConfigured(
            f"UBLOG_POSTS_CLIENT_ADDRESS: {path!r} is not a function of the request."
        )
    return function
