"""``deleteexpiredsignups``: delete the sign-ups whose activation expired.

Run it daily (e.g. from a timer or cron). It deletes the accounts still
waiting for activation whose last activation e-mail is older than
``UBLOG_ACCOUNTS_ACTIVATION_DAYS``, so that their username and address are
free again, and the pending rows of accounts activated some other way. It
never deletes an account that does not wait for activation. Safe to repeat.
"""

from django.core.management.base import BaseCommand

from ublog_accounts import activation


class Command(BaseCommand):
    help = (
        "Delete the accounts whose activation period is over without being "
        "activated, so that their username and e-mail address are free again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="only print how many accounts would be deleted",
        )

    def handle(self, *args, dry_run=False, **options):
        result = activation.delete_expired_signups(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            f"{verb} {result.users} expired sign-up(s) and "
            f"{result.activated} pending activation(s) of active accounts"
        )
