"""``ublog-ctl cleanup``: the daily housekeeping (ublog-cleanup.timer).

Deletes the sign-ups whose activation expired (their username and address
are free again), expired sessions, expired rate-limit counters (of the
database backend, ``ublog_site.counters``) and delivery log entries older
than ``--log-days``. Each step is safe to repeat, and to run on several hosts.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone
from mailer.models import RESULT_CODES, MessageLog

from ublog_site.models import RateCounter


class Command(BaseCommand):
    help = (
        "Delete expired sign-ups, sessions and rate-limit counters, and old mail "
        "log entries."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--log-days",
            type=int,
            default=30,
            help="keep this many days of the mail delivery log (default 30)",
        )

    def handle(self, *args, log_days=30, **options):
        call_command("deleteexpiredsignups", stdout=self.stdout)
        call_command("clearsessions")
        expired = RateCounter.objects.filter(expires__lte=timezone.now())
        deleted, _by_model = expired.delete()
        self.stdout.write(f"deleted {deleted} expired rate-limit counters")
        every_result = [code for code, _label in RESULT_CODES]
        purged = MessageLog.objects.purge_old_entries(log_days, every_result)
        self.stdout.write(f"deleted {purged} mail log entries older than {log_days} d")
