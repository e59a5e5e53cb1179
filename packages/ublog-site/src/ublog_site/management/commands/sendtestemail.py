"""``ublog-ctl sendtestemail ADDRESS...``: check the mail settings now.

Unlike Django's command of the same name (which would only queue the mail
here), the test mail goes straight to the delivery backend, so the admin
sees at once whether the server takes it, and the server's reply if not.
``--queue`` sends it through the outbox instead, like the site's own mail.
"""

import smtplib
import socket

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ublog_site.mail import delivery
from ublog_site.mail.retry import describe


def _addresses(setting) -> list[str]:
    """ADMINS / MANAGERS: addresses (Django 6) or (name, address) pairs."""
    return [item[1] if isinstance(item, (list, tuple)) else item for item in setting]


class Command(BaseCommand):
    help = "Send a test mail through the configured mail server, now."
    missing_args_message = "give one or more addresses, or --admins / --managers"

    def add_arguments(self, parser):
        parser.add_argument("email", nargs="*", help="addresses to send to")
        parser.add_argument("--admins", action="store_true", help="to ADMINS too")
        parser.add_argument("--managers", action="store_true", help="to MANAGERS too")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="queue it in the outbox (ublog-mailer.service sends it)",
        )

    def handle(self, *args, **options):
        recipients = list(options["email"])
        if options["admins"]:
            recipients += _addresses(settings.ADMINS)
        if options["managers"]:
            recipients += _addresses(settings.MANAGERS)
        if not recipients:
            raise CommandError("no recipients (ADMINS and MANAGERS may be empty)")
        host = socket.gethostname()
        message = EmailMessage(
            subject=f"Test mail from μblog on {host} at {timezone.now():%H:%M:%S}",
            body=(
                "If you read this, μblog can send mail: activation links and\n"
                "password resets will reach your users.\n"
            ),
            to=recipients,
        )
        if options["queue"]:
            message.send()
            self.stdout.write(f"queued for {', '.join(recipients)}: ublog-ctl outbox")
            return
        label = delivery.server_label()
        message.connection = delivery.connection()
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:
            raise CommandError(
                f"{label} did not take the mail: {describe(exc).text} (hint: check "
                "[email] in the configuration, then try again)"
            ) from None
        self.stdout.write(f"sent to {', '.join(recipients)} via {label}")
