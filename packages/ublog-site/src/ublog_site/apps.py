"""Register ublog_site as a Django app (templates, static files, commands)."""

from django.apps import AppConfig


class UblogSiteConfig(AppConfig):
    name = "ublog_site"
    verbose_name = "μblog site"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
