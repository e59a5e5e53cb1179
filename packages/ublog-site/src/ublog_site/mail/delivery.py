"""The delivery side of the outbox: the connection and a probe of the server.

Delivery uses django-mailer's ``MAILER_EMAIL_BACKEND`` (SMTP, or the file
or console backends of a development site), configured by ``[email]``.
"""

import contextlib
import os
import smtplib

from django.conf import settings
from django.core.mail import get_connection

from .retry import describe

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def connection():
    """A new (unopened) connection of the delivery backend."""
    return get_connection(backend=settings.MAILER_EMAIL_BACKEND)


def uses_smtp() -> bool:
    return settings.MAILER_EMAIL_BACKEND == SMTP_BACKEND


def server_label() -> str:
    """Where mail goes, for the admin: ``SMTP localhost:25`` or the like."""
    backend = settings.MAILER_EMAIL_BACKEND
    if backend == SMTP_BACKEND:
        security = (
            " (implicit TLS)"
            if settings.EMAIL_USE_SSL
            else " (STARTTLS)"
            if settings.EMAIL_USE_TLS
            else ""
        )
        user = f"{settings.EMAIL_HOST_USER}@" if settings.EMAIL_HOST_USER else ""
        return f"SMTP {user}{settings.EMAIL_HOST}:{settings.EMAIL_PORT}{security}"
    if backend == FILE_BACKEND:
        return f"files in {settings.EMAIL_FILE_PATH}"
    return backend.rsplit(".", 2)[-2]  # "console", "locmem", ...


def _file_path_problem(path: str) -> str | None:
    """The file backend makes its directory (and parents) on first use:
    the nearest existing one must be a writable directory."""
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{path}: {existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{path}: {existing} is not writable"
    return None


def probe() -> str | None:
    """Check that mail can go out now; the reason when it cannot.

    For SMTP this is a whole session up to the point of sending: connect,
    greeting, EHLO, STARTTLS or implicit TLS, and the login if configured.
    """
    if settings.MAILER_EMAIL_BACKEND == FILE_BACKEND:
        return _file_path_problem(settings.EMAIL_FILE_PATH)
    if not uses_smtp():
        return None
    smtp = connection()
    try:
        smtp.open()
    except (OSError, smtplib.SMTPException) as exc:
        return describe(exc).text
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.close()
    return None
