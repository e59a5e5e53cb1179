"""What a failed delivery attempt means for the mail: when to try again.

django-mailer calls :func:`handle_delivery_error` (``MAILER_ERROR_HANDLER``)
inside the transaction that locks the mail. It defers the mail, logs the
failure (the journal and django-mailer's delivery log, with the SMTP reply)
and records in :class:`~ublog_site.models.MailRetry` when to try again:

* after ``retry_delay``, then twice as long each time, at most
  ``max_retry_delay`` between attempts (``[email]`` in ublog.conf);
* as soon as the server answers again, when it did not answer at all (the
  sender probes it; see :mod:`.sender`);
* never again after ``max_attempts``, or after a permanent refusal of the
  mail itself (an SMTP 5xx reply to its recipients or its content): the
  mail is then *failed*, and kept until an admin queues it again
  (``ublog-ctl outbox --retry-failed``) or deletes it.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone
from mailer.models import PRIORITY_MEDIUM, RESULT_FAILURE, Message, MessageLog

from ..models import MailRetry

logger = logging.getLogger("ublog_site.mail")


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as the admin should read it."""

    #: One line: what failed, with the SMTP code and reply when there is one.
    text: str
    #: The server refused this mail for good (5xx): trying again cannot help.
    permanent: bool = False
    #: No SMTP conversation took place: the server is down or unreachable.
    unreachable: bool = False


def _reply(message) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return " ".join(str(message).split())


def _is_5xx(code) -> bool:
    return isinstance(code, int) and 500 <= code < 600


def describe(exc: BaseException) -> Failure:
    """Classify a delivery exception (smtplib's, or the socket's)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = exc.recipients.items()
        text = "; ".join(
            f"{rcpt}: SMTP {code} {_reply(reply)}" for rcpt, (code, reply) in refused
        )
        permanent = all(_is_5xx(code) for _rcpt, (code, _reply_) in refused)
        return Failure(f"recipient refused: {text}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # The site's credentials, not the mail: fix [email], it goes out then.
        return Failure(
            f"authentication failed: SMTP {exc.smtp_code} {_reply(exc.smtp_error)}"
        )
    if isinstance(exc, smtplib.SMTPDataError):
        # The content was refused (5xx: for good, e.g. as spam).
        return Failure(
            f"mail refused: SMTP {exc.smtp_code} {_reply(exc.smtp_error)}",
            permanent=_is_5xx(exc.smtp_code),
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        # The sender address, HELO, the greeting: the site's side, retried.
        return Failure(f"SMTP {exc.smtp_code} {_reply(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Failure(f"the server closed the connection: {exc}", unreachable=True)
    if isinstance(exc, OSError):  # refused, timed out, no route, DNS, TLS
        reason = exc.strerror or str(exc) or type(exc).__name__
        return Failure(f"the server does not answer: {reason}", unreachable=True)
    return Failure(f"{type(exc).__name__}: {exc}")


def delay(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: doubling, capped."""
    first = settings.UBLOG_MAIL_RETRY_DELAY
    cap = settings.UBLOG_MAIL_MAX_RETRY_DELAY
    exponent = min(max(attempts - 1, 0), 32)
    return timedelta(seconds=min(first * 2**exponent, cap))


def handle_delivery_error(connection, message: Message, exc: Exception):
    """``MAILER_ERROR_HANDLER``: defer ``message`` and schedule its retry.

    Returns django-mailer's ``(connection, status)``: no connection (a new
    one for the next mail), status ``"deferred"``. A database error is not
    the mail's: it propagates (the sender retries the whole round).
    """
    if isinstance(exc, DatabaseError):
        raise exc
    failure = describe(exc)
    if not isinstance(exc, (OSError, smtplib.SMTPException)):
        logger.error("unexpected error delivering mail %s", message.pk, exc_info=exc)
    now = timezone.now()
    retry, _created = MailRetry.objects.get_or_create(
        message=message, defaults={"last_attempt": now}
    )
    retry.attempts += 1
    retry.last_attempt = now
    retry.last_error = failure.text[:4000]
    retry.unreachable = failure.unreachable
    limit = settings.UBLOG_MAIL_MAX_ATTEMPTS
    recipients = ", ".join(message.to_addresses)
    if failure.permanent or retry.attempts >= limit:
        retry.failed, retry.next_attempt = True, None
        why = "refused for good" if failure.permanent else f"{limit} attempts"
        logger.error(
            "mail %s to %s failed (%s), kept in the outbox: %s",
            message.pk,
            recipients,
            why,
            failure.text,
        )
    else:
        wait = delay(retry.attempts)
        retry.failed, retry.next_attempt = False, now + wait
        logger.warning(
            "mail %s to %s not delivered (attempt %d of %d), next attempt in %s%s: %s",
            message.pk,
            recipients,
            retry.attempts,
            limit,
            _human(wait),
            " or as soon as the server answers" if failure.unreachable else "",
            failure.text,
        )
    retry.save()
    message.defer()
    MessageLog.objects.log(message, RESULT_FAILURE, log_message=failure.text)
    return None, "deferred"


def _human(wait: timedelta) -> str:
    seconds = int(wait.total_seconds())
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


# -- moving deferred mail back into the queue ---------------------------------


def _retrying():
    return Message.objects.deferred().filter(
        Q(ublog_retry__isnull=True) | Q(ublog_retry__failed=False)
    )


def release_due(now: datetime | None = None) -> int:
    """Queue again the deferred mails whose next attempt has come."""
    now = now or timezone.now()
    due = _retrying().filter(
        Q(ublog_retry__isnull=True) | Q(ublog_retry__next_attempt__lte=now)
    )
    return due.update(priority=PRIORITY_MEDIUM)


def waiting_for_server() -> bool:
    """Whether some mail waits only for the server to answer again."""
    return _retrying().filter(ublog_retry__unreachable=True).exists()


def release_unreachable() -> int:
    """The server answers again: queue what waited for it, now."""
    waiting = _retrying().filter(ublog_retry__unreachable=True)
    return waiting.update(priority=PRIORITY_MEDIUM)


def flush() -> int:
    """Queue every deferred mail that has not failed for good, now."""
    return _retrying().update(priority=PRIORITY_MEDIUM)


def retry_failed() -> int:
    """Give the failed mails a fresh set of attempts, starting now."""
    failed = MailRetry.objects.filter(failed=True)
    ids = list(failed.values_list("message_id", flat=True))
    failed.update(failed=False, attempts=0, next_attempt=timezone.now())
    return Message.objects.filter(pk__in=ids).update(priority=PRIORITY_MEDIUM)
