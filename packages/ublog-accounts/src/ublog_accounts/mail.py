"""Sending the app's plain-text e-mails, without ever failing the request.

A mail server that is down (``smtplib.SMTPException`` or ``OSError`` from a
direct SMTP backend) is logged on the ``ublog_accounts`` logger and
otherwise ignored: the visitor sees the same page as when the mail left, and
can ask for it again. A site that must not lose mail queues it in its
database instead (e.g. django-mailer), in the request's transaction.
"""

import logging
import smtplib

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

logger = logging.getLogger("ublog_accounts")


def render_subject(template_name, context, request=None):
    """Render a subject template as one line (no header injection)."""
    subject = render_to_string(template_name, context, request=request)
    return " ".join(subject.splitlines()).strip()


def send(message):
    """Send the ``EmailMessage`` ``message``; return whether it was sent.

    If the mail server fails, log the error and return ``False``.
    """
    try:
        message.send()
    except (smtplib.SMTPException, OSError):
        logger.exception("Could not send the e-mail %r", message.subject)
        return False
    return True


def send_templated(
    subject_template,
    body_template,
    context,
    to,
    *,
    request=None,
    from_email=None,
    html_template=None,
):
    """Render and send a mail to the addresses ``to``; return whether it was
    sent (see ``send()``). ``from_email`` defaults to ``DEFAULT_FROM_EMAIL``.
    """
    subject = render_subject(subject_template, context, request=request)
    body = render_to_string(body_template, context, request=request)
    message = EmailMultiAlternatives(subject, body, from_email, to)
    if html_template is not None:
        html = render_to_string(html_template, context, request=request)
        message.attach_alternative(html, "text/html")
    return send(message)
