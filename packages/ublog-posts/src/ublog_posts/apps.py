"""Application configuration of ublog_posts."""

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class UblogPostsConfig(AppConfig):
    name = "ublog_posts"
    verbose_name = _("ublog posts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals
        from .checks import check_settings

        signals.connect()
        checks.register(check_settings)
