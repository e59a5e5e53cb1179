"""The site's own table: when and why each queued mail is tried again.

django-mailer keeps the outbox (``mailer.Message``, one row per mail waiting
to go out) and a delivery log (``mailer.MessageLog``). It has no notion of
*when* to try a deferred mail again, so :class:`MailRetry` holds that, one
row per mail that failed at least once; the row goes when the mail is sent
(or deleted). See :mod:`ublog_site.mail`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MailRetry(models.Model):
    """The retry state of one queued mail that could not be delivered yet."""

    message = models.OneToOneField(
        "mailer.Message",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="ublog_retry",
    )
    #: Failed delivery attempts so far.
    attempts = models.PositiveIntegerField(default=0)
    last_attempt = models.DateTimeField()
    #: When the sender tries again (None once failed).
    next_attempt = models.DateTimeField(null=True, db_index=True)
    #: The server did not answer at all (not a reply about this mail): the
    #: sender tries again as soon as it answers, whatever next_attempt says.
    unreachable = models.BooleanField(default=False)
    #: Given up: max_attempts reached, or a permanent (5xx) refusal. Kept,
    #: never sent unless an admin queues it again.
    failed = models.BooleanField(default=False)
    #: The last error, with the SMTP reply code and text when there was one.
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("mail retry")
        verbose_name_plural = _("mail retries")

    def __str__(self):
        state = "failed" if self.failed else f"next at {self.next_attempt}"
        return f"mail {self.message_id}: {self.attempts} attempt(s), {state}"


class RateCounter(models.Model):
    """One rate-limit counter of ``ublog_site.counters.DatabaseCounterCache``
    (the ``counters`` cache with ``[cache] backend = database``).

    Rows are only ever written by single SQL statements (an upsert, an
    increment), never read-modify-written in Python: that is what makes the
    counts exact under concurrency. Expired rows are reused by the next
    ``add`` and deleted by ``ublog-ctl cleanup``.
    """

    key = models.CharField(max_length=250, primary_key=True)
    value = models.BigIntegerField()
    expires = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("rate counter")

    def __str__(self):
        return f"{self.key} = {self.value} until {self.expires}"
