"""A mail backend that fails in a way no SMTP server can make it fail: for
the test of what the sender does with an unexpected error."""

from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise RuntimeError("the backend broke")
