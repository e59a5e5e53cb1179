"""System checks: the app's settings that have a fixed set of valid values."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import conf


def check_settings(app_configs=None, **kwargs):
    """Report a bad ``UBLOG_POSTS_ANONYMOUS_POSTS`` (``ublog_posts.E001``),
    ``UBLOG_POSTS_CLIENT_ADDRESS`` (``ublog_posts.E002``) or
    ``UBLOG_POSTS_IMAGE_FORMATS`` (``ublog_posts.E003``) before a request
    meets it."""
    errors = []
    readers = [
        (conf.anonymous_posts, "ublog_posts.E001"),
        (conf.client_address, "ublog_posts.E002"),
        (conf.image_formats, "ublog_posts.E003"),
    ]
    for read_setting, error_id in readers:
        try:
            read_setting()
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id=error_id))
    return errors
