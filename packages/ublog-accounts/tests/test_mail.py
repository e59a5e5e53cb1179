"""ublog_accounts.mail: rendering and sending, a failing server logged."""

import logging

from django.core import mail as outbox

from tests.conftest import mail_errors
from ublog_accounts import mail

TEMPLATES = (
    "ublog_accounts/activation_email_subject.txt",
    "ublog_accounts/activation_email_body.txt",
)
CONTEXT = {
    "user": None,
    "site_name": "example.com",
    "activation_url": "http://example.com/x/",
    "expiration_days": 2,
}


def test_send_templated():
    assert mail.send_templated(*TEMPLATES, CONTEXT, ["a@example.com"]) is True
    [message] = outbox.outbox
    assert message.subject == "Activate your account on example.com"
    assert message.from_email == "ublog <noreply@example.com>"
    assert message.to == ["a@example.com"]
    assert "http://example.com/x/" in message.body
    assert message.alternatives == []


def test_send_templated_with_html_and_sender():
    mail.send_templated(
        *TEMPLATES,
        CONTEXT,
        ["a@example.com"],
        from_email="other@example.com",
        html_template="ublog_accounts/activation_complete.html",
    )
    [message] = outbox.outbox
    assert message.from_email == "other@example.com"
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "Account activated" in html


def test_subject_is_one_line(settings, tmp_path):
    (tmp_path / "subject.txt").write_text("  one\ntwo\r\nthree \n")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    assert mail.render_subject("subject.txt", {}) == "one two three"


def test_failing_server_is_logged_not_raised(smtp_down, caplog):
    with caplog.at_level(logging.ERROR, logger="ublog_accounts"):
        sent = mail.send_templated(*TEMPLATES, CONTEXT, ["a@example.com"])
    assert sent is False
    [record] = mail_errors(caplog)
    assert record.getMessage() == (
        "Could not send the e-mail 'Activate your account on example.com'"
    )
    assert isinstance(record.exc_info[1], ConnectionRefusedError)
