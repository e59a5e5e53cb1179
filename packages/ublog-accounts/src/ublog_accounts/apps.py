"""The Django application configuration of ublog_accounts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UblogAccountsConfig(AppConfig):
    name = "ublog_accounts"
    verbose_name = _("ublog accounts")
    default_auto_field = "django.db.models.BigAutoField"
