"""The sender: deliver queued mail outside the web workers, for ever.

``ublog-ctl delivermail --loop`` (ublog-mailer.service; ``make run`` starts
it beside the development server) runs :func:`run`. Each round:

1. while some mail waits only for an unreachable server, probe the server
   (every ``probe_interval`` seconds); once it answers, that mail is due;
2. queue again the deferred mail whose next attempt has come;
3. hand the queue to django-mailer's ``send_all``: each mail is locked
   (``SELECT ... FOR UPDATE NOWAIT``), sent and deleted in one transaction,
   so several senders, on one host or many, never send a mail twice;
4. sleep ``interval`` seconds (a signal ends the loop after the round).

A database that goes away is waited for, not fatal.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.db import DatabaseError, close_old_connections, connections
from mailer.engine import send_all
from mailer.models import Message

from . import delivery, retry

logger = logging.getLogger("ublog_site.mail")


@dataclass
class Sender:
    interval: float = 5.0
    probe_interval: float = 15.0
    _last_probe: float = float("-inf")

    def round(self) -> None:
        """One round: probe if needed, release what is due, send the queue."""
        if retry.waiting_for_server() and self._probe_due():
            problem = delivery.probe()
            if problem is None:
                count = retry.release_unreachable()
                logger.info(
                    "%s answers again: sending the %d mail(s) that waited for it",
                    delivery.server_label(),
                    count,
                )
        retry.release_due()
        if Message.objects.non_deferred().exists():
            send_all()

    def _probe_due(self) -> bool:
        now = time.monotonic()
        if now - self._last_probe < self.probe_interval:
            return False
        self._last_probe = now
        return True

    def run(self, stop: threading.Event) -> None:
        """Rounds until ``stop`` is set; database outages are waited out."""
        logger.info(
            "delivering queued mail via %s (a round every %g s)",
            delivery.server_label(),
            self.interval,
        )
        while not stop.is_set():
            close_old_connections()
            try:
                self.round()
            except DatabaseError as exc:
                first = str(exc).strip().splitlines()[:1] or [type(exc).__name__]
                logger.warning(
                    "the database is not reachable (%s): trying again in %g s",
                    first[0],
                    self.interval,
                )
                connections.close_all()
            stop.wait(self.interval)
        logger.info("mail sender stopped")
