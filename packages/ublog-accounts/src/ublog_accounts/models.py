"""The app's one model: the activation an account is waiting for."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PendingActivation(models.Model):
    """An account that signed up and waits for activation.

    The row exists exactly while the account waits: sign-up creates it,
    activation deletes it (see ``ublog_accounts.activation``). Activation keys
    carry ``nonce``, so a key only activates the account it was made for, and
    only while this row exists. ``sent_at`` is when the last activation
    e-mail was sent; the daily cleanup deletes accounts whose ``sent_at`` is
    older than the activation period.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="pending_activation",
        verbose_name=_("user"),
    )
    nonce = models.CharField(_("nonce"), max_length=32)
    sent_at = models.DateTimeField(_("activation e-mail sent at"))

    class Meta:
        verbose_name = _("pending activation")
        verbose_name_plural = _("pending activations")

    def __str__(self):
        return _("activation of user %(pk)s") % {"pk": self.user_id}
