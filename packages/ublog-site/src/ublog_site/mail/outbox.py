"""What waits in the outbox and what failed, for the admin's commands."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min
from django.utils import timezone
from mailer.models import PRIORITY_DEFERRED, Message

from ..models import MailRetry


@dataclass(frozen=True)
class Summary:
    #: Queued and due: the sender takes them on its next round.
    waiting: int
    #: Deferred after a failed attempt, with a next attempt scheduled.
    retrying: int
    #: Given up (kept until an admin retries or deletes them).
    failed: int
    #: When the oldest mail not failed was queued, if any.
    oldest: datetime | None

    @property
    def pending(self) -> int:
        return self.waiting + self.retrying


def summary() -> Summary:
    failed_ids = MailRetry.objects.filter(failed=True).values("message_id")
    alive = Message.objects.exclude(pk__in=failed_ids)
    return Summary(
        waiting=alive.exclude(priority=PRIORITY_DEFERRED).count(),
        retrying=alive.filter(priority=PRIORITY_DEFERRED).count(),
        failed=Message.objects.filter(pk__in=failed_ids).count(),
        oldest=alive.aggregate(oldest=Min("when_added"))["oldest"],
    )


def age(when: datetime | None, now: datetime | None = None) -> str:
    """``3 min``, ``2 h``: how long ago ``when`` was, roughly."""
    if when is None:
        return "-"
    seconds = max(0, int(((now or timezone.now()) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def until(when: datetime | None, now: datetime | None = None) -> str:
    """``5 min``: how long until ``when``, roughly (``0 s`` if past)."""
    return age(now or timezone.now(), when) if when else "-"


@dataclass(frozen=True)
class Entry:
    """One mail of the outbox, for ``ublog-ctl outbox``."""

    id: int
    queued: datetime
    to: str
    subject: str
    state: str
    attempts: int
    last_error: str


def entries() -> list[Entry]:
    found = []
    messages = Message.objects.select_related("ublog_retry").order_by("when_added")
    for message in messages:
        retry = getattr(message, "ublog_retry", None)
        if retry is not None and retry.failed:
            state = "failed"
        elif message.priority == PRIORITY_DEFERRED and retry is not None:
            state = f"next attempt in {until(retry.next_attempt)}"
            if retry.unreachable:
                state += " or when the server answers"
        else:
            state = "waiting"
        found.append(
            Entry(
                id=message.pk,
                queued=message.when_added,
                to=", ".join(message.to_addresses),
                subject=message.subject,
                state=state,
                attempts=retry.attempts if retry else 0,
                last_error=retry.last_error if retry else "",
            )
        )
    return found
