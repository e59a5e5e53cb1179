"""``ublog-ctl delivermail``: deliver the queued mail (see ublog_site.mail).

Once by default; ``--loop`` keeps delivering until SIGTERM or SIGINT, as
ublog-mailer.service and ``make run`` do.
"""

import signal
import threading

from django.core.management.base import BaseCommand

from ublog_site.mail import outbox
from ublog_site.mail.sender import Sender


class Command(BaseCommand):
    help = "Deliver the mail waiting in the outbox (--loop: keep doing it)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="keep delivering until stopped"
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="seconds between two rounds with --loop (default 5)",
        )
        parser.add_argument(
            "--probe-interval",
            type=float,
            default=15.0,
            help="seconds between two probes of a server that does not answer",
        )

    def handle(self, *args, loop=False, interval=5.0, probe_interval=15.0, **opts):
        sender = Sender(interval=interval, probe_interval=probe_interval)
        if not loop:
            sender.round()
            state = outbox.summary()
            self.stdout.write(
                f"outbox: {state.waiting} waiting, {state.retrying} to retry, "
                f"{state.failed} failed"
            )
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        sender.run(stop)
