"""The site's ``EMAIL_BACKEND``: queue each mail in the database.

django-mailer's ``DbBackend`` stores the message; this subclass first gives
it its ``Message-ID``, so every line of the delivery log (failures included)
names the mail it is about, and a mail retried later keeps one identity.
The ID's domain is the sender address's (no DNS lookup in a web request).
"""

from email.utils import parseaddr

from django.core.mail import make_msgid
from mailer.backend import DbBackend
from mailer.models import get_message_id


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


class QueueBackend(DbBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            if get_message_id(message) is None:
                domain = _domain(message.from_email or "")
                message.extra_headers["Message-ID"] = make_msgid(domain=domain)
        return super().send_messages(email_messages)
