"""``ublog-ctl outbox``: the mail waiting to go out, and what failed.

Without options: a summary and one line per mail. ``--summary`` prints the
two lines ``ublog-ctl status`` shows and exits 3 when mail cannot go out
(the server does not answer, or mail failed). ``--flush`` makes every
deferred mail due now; ``--retry-failed`` gives failed mail new attempts.
"""

from django.core.management.base import BaseCommand

from ublog_site.mail import delivery, outbox, retry


class Command(BaseCommand):
    help = "Show the outbox (queued and failed mail); flush it or retry failures."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--summary",
            action="store_true",
            help="two lines (outbox, mail server); exit 3 if mail cannot go out",
        )
        group.add_argument(
            "--flush",
            action="store_true",
            help="try every deferred mail again now (not the failed ones)",
        )
        group.add_argument(
            "--retry-failed",
            action="store_true",
            help="give the failed mail a new set of attempts, from now",
        )

    def handle(self, *args, summary=False, flush=False, retry_failed=False, **opts):
        if flush:
            self.stdout.write(f"{retry.flush()} mail(s) due now")
            return
        if retry_failed:
            self.stdout.write(f"{retry.retry_failed()} failed mail(s) queued again")
            return
        healthy = self.summary_lines()
        if summary:
            if not healthy:
                raise SystemExit(3)
            return
        for entry in outbox.entries():
            self.stdout.write(
                f"\n#{entry.id}  queued {entry.queued:%Y-%m-%d %H:%M:%S %Z}  "
                f"to {entry.to}\n    {entry.subject}\n    {entry.state}, "
                f"{entry.attempts} failed attempt(s)"
            )
            if entry.last_error:
                self.stdout.write(f"    last error: {entry.last_error}")

    def summary_lines(self) -> bool:
        state = outbox.summary()
        self.stdout.write(
            f"mail:     {state.waiting} waiting, {state.retrying} to retry "
            f"(oldest queued {outbox.age(state.oldest)} ago), {state.failed} failed"
            if state.pending
            else f"mail:     outbox empty, {state.failed} failed"
        )
        problem = delivery.probe()
        if problem is None:
            answer = "answers" if delivery.uses_smtp() else "ok"
        else:
            answer = f"NOT ANSWERING: {problem}"
        self.stdout.write(f"delivery: {delivery.server_label()}: {answer}")
        return problem is None and not state.failed
