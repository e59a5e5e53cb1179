"""The Django application configuration of ublog_accounts."""

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class UblogAccountsConfig(AppConfig):
    name = "ublog_accounts"
    verbose_name = _("ublog accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import activation

        post_save.connect(
            activation.forget_activated_user,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="ublog_accounts.forget_activated_user",
        )
