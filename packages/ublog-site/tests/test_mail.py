"""The outbox: a sign-up never waits for, nor fails with, the mail server.

Everything here talks to a real SMTP server on loopback (aiosmtpd, the
``smtp_server`` fixture) or to a port where nothing listens
(``closed_port``); the sender runs for real, in process or as the
``ublog-ctl delivermail --loop`` command.
"""

import logging
import os
import re
import signal
import subprocess
import threading
import time
from datetime import timedelta

import django
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from mailer.models import RESULT_FAILURE, RESULT_SUCCESS, Message, MessageLog

from ublog_site.mail import delivery, outbox, retry
from ublog_site.mail.sender import Sender
from ublog_site.models import MailRetry

PASSWORD = "a long and uncommon passphrase"

pytestmark = pytest.mark.django_db


def sign_up(client, username="dora", address="dora@example.org"):
    return client.post(
        "/accounts/signup/",
        {
            "username": username,
            "email": address,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )


def activation_path(message) -> str:
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"http://testserver(/accounts/activate/\S+/)", body)
    assert link, body
    return link[1]


def one_round(now=None):
    """One round of the sender, its probe due at once."""
    Sender(probe_interval=0).round()


# -- a sign-up while no mail server answers --------------------------------------


def test_signup_with_no_mail_server_queues_then_delivers_once_it_answers(
    deliver_to, closed_port, smtp_server_on, caplog
):
    deliver_to(closed_port)
    client = Client()
    response = sign_up(client)
    # The visitor gets the "check your mail" page, not an error...
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/accounts/signup/done/"
    assert "Check your e-mail" in client.get(response["Location"]).content.decode()
    # ... the account exists, inactive, and its mail waits in the outbox.
    user = get_user_model().objects.get(username="dora")
    assert not user.is_active
    queued = Message.objects.get()
    assert queued.to_addresses == ["dora@example.org"]
    assert queued.email.extra_headers["Message-ID"].endswith("@localhost>")
    assert outbox.summary().waiting == 1

    # The sender tries: the server does not answer. The mail is deferred,
    # the failure logged (journal and delivery log), a retry scheduled.
    caplog.set_level(logging.WARNING, "ublog_site.mail")
    before = timezone.now()
    one_round()
    state = MailRetry.objects.get(message=queued)
    assert (state.attempts, state.unreachable, state.failed) == (1, True, False)
    assert "Connection refused" in state.last_error
    assert before + timedelta(seconds=59) < state.next_attempt
    assert state.next_attempt < timezone.now() + timedelta(seconds=61)
    log = MessageLog.objects.get()
    assert log.result == RESULT_FAILURE and "Connection refused" in log.log_message
    assert log.message_id == queued.email.extra_headers["Message-ID"]
    assert re.search(
        r"mail \d+ to dora@example.org not delivered \(attempt 1 of 20\), next "
        r"attempt in 1 min or as soon as the server answers: the server does not "
        r"answer: Connection refused",
        caplog.text,
    ), caplog.text
    assert outbox.summary() == outbox.Summary(
        waiting=0, retrying=1, failed=0, oldest=queued.when_added
    )
    one_round()  # not due yet, server still down: nothing changes
    assert MailRetry.objects.get(message=queued).attempts == 1

    # The server comes up on that port: the next round's probe sees it, and
    # the mail goes out at once, long before its scheduled retry.
    server = smtp_server_on(closed_port)
    one_round()
    assert not Message.objects.exists()
    assert not MailRetry.objects.exists()
    assert MessageLog.objects.filter(result=RESULT_SUCCESS).count() == 1
    [delivered] = server.messages
    assert delivered["To"] == "dora@example.org"

    # The link in it works.
    path = activation_path(delivered)
    assert client.post(path).status_code == 302
    user.refresh_from_db()
    assert user.is_active


def test_mail_of_a_rolled_back_request_is_not_sent(deliver_to, smtp_server):
    """Queued in the request's transaction: no account, no mail."""
    deliver_to(smtp_server.port)
    client = Client()
    response = sign_up(client, address="not an address")
    assert response.status_code == 200  # the form again, with its error
    assert not Message.objects.exists()
    one_round()
    assert smtp_server.messages == []


# -- retries, backoff, giving up ---------------------------------------------------


def test_delays_double_up_to_the_cap(settings):
    settings.UBLOG_MAIL_RETRY_DELAY = 60
    settings.UBLOG_MAIL_MAX_RETRY_DELAY = 3600
    waits = [retry.delay(n).total_seconds() for n in range(1, 10)]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert retry.delay(10_000).total_seconds() == 3600


def test_a_temporary_refusal_is_retried_then_given_up(
    deliver_to, smtp_server, settings, caplog, command_output
):
    deliver_to(smtp_server.port)
    settings.UBLOG_MAIL_MAX_ATTEMPTS = 3
    smtp_server.refuse["busy@example.org"] = "451 4.3.0 try again later"
    mail.send_mail("Hi", "body", None, ["busy@example.org"])
    queued = Message.objects.get()
    caplog.set_level(logging.WARNING, "ublog_site.mail")
    for attempt in (1, 2):
        one_round()
        state = MailRetry.objects.get(message=queued)
        assert (state.attempts, state.failed, state.unreachable) == (
            attempt,
            False,
            False,
        )
        assert "SMTP 451 4.3.0 try again later" in state.last_error
        # Not due: the next round leaves it alone...
        one_round()
        assert MailRetry.objects.get(message=queued).attempts == attempt
        # ... until its time has come.
        retry.release_due(state.next_attempt)
    one_round()
    state = MailRetry.objects.get(message=queued)
    assert (state.attempts, state.failed, state.next_attempt) == (3, True, None)
    assert "failed (3 attempts), kept in the outbox" in caplog.text
    assert outbox.summary().failed == 1
    # Kept, and never tried again on its own.
    retry.release_due(timezone.now() + timedelta(days=365))
    one_round()
    assert Message.objects.filter(pk=queued.pk).exists()
    assert MessageLog.objects.filter(result=RESULT_FAILURE).count() == 3
    assert smtp_server.messages == []

    # The admin queues it again once the cause is fixed.
    del smtp_server.refuse["busy@example.org"]
    out = command_output("outbox", "--retry-failed")
    assert out == "1 failed mail(s) queued again\n"
    one_round()
    assert [m["To"] for m in smtp_server.messages] == ["busy@example.org"]
    assert not Message.objects.exists()


def test_a_permanent_refusal_fails_at_once_and_others_still_go(
    deliver_to, smtp_server, command_output
):
    deliver_to(smtp_server.port)
    smtp_server.refuse["nobody@example.org"] = "550 5.1.1 no such user"
    mail.send_mail("One", "body", None, ["nobody@example.org"])
    mail.send_mail("Two", "body", None, ["somebody@example.org"])
    one_round()
    state = MailRetry.objects.get()
    assert (state.attempts, state.failed) == (1, True)
    assert state.last_error == (
        "recipient refused: nobody@example.org: SMTP 550 5.1.1 no such user"
    )
    assert [m["Subject"] for m in smtp_server.messages] == ["Two"]
    listing = command_output("outbox")
    assert "0 waiting, 0 to retry" not in listing  # the outbox is not empty
    assert "outbox empty, 1 failed" in listing
    assert re.search(
        r"#\d+  queued .*  to nobody@example.org\n    One\n    failed, 1 failed "
        r"attempt\(s\)\n    last error: recipient refused: nobody@example.org: "
        r"SMTP 550 5.1.1 no such user",
        listing,
    ), listing


def test_describe_names_each_kind_of_failure():
    import smtplib

    assert retry.describe(smtplib.SMTPAuthenticationError(535, b"5.7.8 bad")) == (
        retry.Failure("authentication failed: SMTP 535 5.7.8 bad")
    )
    assert retry.describe(smtplib.SMTPDataError(554, b"spam")) == retry.Failure(
        "mail refused: SMTP 554 spam", permanent=True
    )
    assert retry.describe(smtplib.SMTPDataError(452, b"full")) == retry.Failure(
        "mail refused: SMTP 452 full"
    )
    assert retry.describe(smtplib.SMTPSenderRefused(553, b"no", "a@b")) == (
        retry.Failure("SMTP 553 no")
    )
    assert retry.describe(smtplib.SMTPServerDisconnected("gone")).unreachable
    assert retry.describe(TimeoutError("timed out")) == retry.Failure(
        "the server does not answer: timed out", unreachable=True
    )
    assert retry.describe(ValueError("odd")) == retry.Failure("ValueError: odd")


def test_flush_makes_deferred_mail_due_now(
    deliver_to, closed_port, smtp_server, command_output
):
    deliver_to(closed_port)
    mail.send_mail("Later", "body", None, ["x@example.org"])
    one_round()
    assert outbox.summary().retrying == 1
    deliver_to(smtp_server.port)  # the admin fixed [email] and restarted
    assert command_output("outbox", "--flush") == "1 mail(s) due now\n"
    one_round()
    assert [m["Subject"] for m in smtp_server.messages] == ["Later"]


def test_an_unexpected_error_is_logged_and_retried(settings, caplog):
    settings.EMAIL_BACKEND = "ublog_site.mail.queue.QueueBackend"
    settings.MAILER_EMAIL_BACKEND = "tests.broken_backend.EmailBackend"
    mail.send_mail("Hi", "body", None, ["x@example.org"])
    caplog.set_level(logging.WARNING, "ublog_site.mail")
    one_round()
    state = MailRetry.objects.get()
    assert (state.attempts, state.failed) == (1, False)
    assert state.last_error == "RuntimeError: the backend broke"
    assert "unexpected error delivering mail" in caplog.text


# -- the admin's view ---------------------------------------------------------------


def test_outbox_summary_and_its_exit_status(
    deliver_to, closed_port, smtp_server, command_output
):
    deliver_to(smtp_server.port)
    assert command_output("outbox", "--summary") == (
        "mail:     outbox empty, 0 failed\n"
        f"delivery: SMTP 127.0.0.1:{smtp_server.port}: answers\n"
    )
    deliver_to(closed_port)
    mail.send_mail("Hi", "body", None, ["x@example.org"])
    with pytest.raises(SystemExit) as exit_:
        command_output("outbox", "--summary")
    assert exit_.value.code == 3
    one_round()
    listing = command_output("outbox")
    assert re.search(
        r"mail:     0 waiting, 1 to retry \(oldest queued \d+ s ago\), 0 failed\n"
        rf"delivery: SMTP 127.0.0.1:{closed_port}: NOT ANSWERING: the server does "
        r"not answer: Connection refused\n",
        listing,
    ), listing
    assert re.search(
        r"next attempt in (59 s|1 min) or when the server answers", listing
    )


def test_server_labels(settings):
    settings.MAILER_EMAIL_BACKEND = delivery.SMTP_BACKEND
    settings.EMAIL_HOST, settings.EMAIL_PORT = "mx.example", 465
    settings.EMAIL_HOST_USER, settings.EMAIL_USE_SSL = "me", True
    assert delivery.server_label() == "SMTP me@mx.example:465 (implicit TLS)"
    settings.EMAIL_HOST_USER, settings.EMAIL_USE_SSL = "", False
    settings.EMAIL_USE_TLS = True
    assert delivery.server_label() == "SMTP mx.example:465 (STARTTLS)"
    settings.MAILER_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert delivery.server_label() == "console"
    assert delivery.probe() is None


def test_file_backend_probe(settings, tmp_path):
    settings.MAILER_EMAIL_BACKEND = delivery.FILE_BACKEND
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    assert delivery.server_label() == f"files in {tmp_path / 'mail'}"
    assert delivery.probe() is None  # created on first use, the parent is there
    (tmp_path / "file").write_text("")
    settings.EMAIL_FILE_PATH = str(tmp_path / "file" / "mail")
    assert (
        delivery.probe() == f"{tmp_path}/file/mail: {tmp_path}/file is not a directory"
    )


def test_sendtestemail_goes_straight_to_the_server(
    settings, deliver_to, smtp_server, closed_port, command_output
):
    deliver_to(smtp_server.port)
    out = command_output("sendtestemail", "admin@example.org")
    assert out == (f"sent to admin@example.org via SMTP 127.0.0.1:{smtp_server.port}\n")
    assert smtp_server.messages[0]["Subject"].startswith("Test mail from μblog on ")
    assert not Message.objects.exists()  # not through the outbox
    ops = "ops@example.org"
    settings.ADMINS = [ops] if django.VERSION >= (6, 0) else [("Ops", ops)]
    assert command_output("sendtestemail", "--admins", "--queue") == (
        f"queued for {ops}: ublog-ctl outbox\n"
    )
    assert Message.objects.get().to_addresses == [ops]
    deliver_to(closed_port)
    with pytest.raises(CommandError) as error:
        call_command("sendtestemail", "admin@example.org")
    assert str(error.value) == (
        f"SMTP 127.0.0.1:{closed_port} did not take the mail: the server does not "
        "answer: Connection refused (hint: check [email] in the configuration, "
        "then try again)"
    )
    with pytest.raises(CommandError, match="no recipients"):
        call_command("sendtestemail", "--managers")


def test_cleanup_deletes_old_log_entries_and_expired_signups(
    deliver_to, smtp_server, command_output
):
    deliver_to(smtp_server.port)
    mail.send_mail("Hi", "body", None, ["x@example.org"])
    one_round()
    MessageLog.objects.update(when_attempted=timezone.now() - timedelta(days=31))
    mail.send_mail("Hi again", "body", None, ["x@example.org"])
    one_round()
    out = command_output("cleanup")
    assert "deleted 1 mail log entries older than 30 d" in out
    assert MessageLog.objects.count() == 1


# -- the sender as the service runs it ------------------------------------------------


def test_delivermail_loop_delivers_and_stops_on_sigterm(
    tmp_path, ublog_ctl, smtp_server
):
    """``ublog-ctl delivermail --loop`` in its own process, on a database of
    its own: it delivers what is queued and ends cleanly on SIGTERM."""
    config = tmp_path / "ublog.conf"
    config.write_text(
        f"[ublog]\nsecret_key = {'s' * 60}\ndata_dir = {tmp_path}\n"
        "[database]\nengine = sqlite\n"
        f"[email]\nhost = 127.0.0.1\nport = {smtp_server.port}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("UBLOG_")}
    env |= {"UBLOG_CONFIG": str(config), "UBLOG_CTL_USER": "root"}

    def ctl(*args):
        return subprocess.run(
            [ublog_ctl, *args], env=env, capture_output=True, text=True, check=True
        ).stdout

    ctl("preparedb", "--verbosity", "0")
    assert ctl("sendtestemail", "--queue", "ops@example.org").startswith("queued")
    sender = subprocess.Popen(
        [ublog_ctl, "delivermail", "--loop", "--interval", "0.2"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not smtp_server.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [m["To"] for m in smtp_server.messages] == ["ops@example.org"]
    finally:
        sender.send_signal(signal.SIGTERM)
        _out, err = sender.communicate(timeout=30)
    assert sender.returncode == 0, err
    assert "mail sender stopped" in err
    assert "mail:     outbox empty, 0 failed" in ctl("outbox")


def test_delivermail_once(deliver_to, smtp_server, command_output):
    deliver_to(smtp_server.port)
    mail.send_mail("Once", "body", None, ["x@example.org"])
    out = command_output("delivermail")
    assert out == "outbox: 0 waiting, 0 to retry, 0 failed\n"
    assert [m["Subject"] for m in smtp_server.messages] == ["Once"]


@pytest.mark.django_db(transaction=True)
def test_the_loop_waits_out_a_database_outage(deliver_to, smtp_server, caplog):
    """The queue's table gone (as good as the database gone): the loop says
    so and goes on; once it is back, the mail goes out."""
    deliver_to(smtp_server.port)
    mail.send_mail("Patience", "body", None, ["x@example.org"])
    caplog.set_level(logging.INFO, "ublog_site.mail")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE mailer_message RENAME TO mailer_message_away")
    stop = threading.Event()
    loop = threading.Thread(target=Sender(interval=0.05).run, args=(stop,))
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while "the database is not reachable" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE mailer_message_away RENAME TO mailer_message")
        while not smtp_server.messages:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(10)
    assert not loop.is_alive()
    assert "no such table: mailer_message" in caplog.text
    assert "mail sender stopped" in caplog.text
    assert [m["Subject"] for m in smtp_server.messages] == ["Patience"]


def test_system_checks_of_mail(deliver_to, closed_port, smtp_server):
    from ublog_site import checks

    deliver_to(smtp_server.port)
    assert checks.check_mail_server() == []
    assert checks.check_failed_mail(databases=["default"]) == []
    assert checks.check_failed_mail(databases=None) == []
    smtp_server.refuse["gone@example.org"] = "550 no such user"
    mail.send_mail("Lost", "body", None, ["gone@example.org"])
    one_round()
    [warning] = checks.check_failed_mail(databases=["default"])
    assert (warning.id, warning.msg) == (
        "ublog_site.W003",
        "1 mail(s) could not be delivered and were given up",
    )
    deliver_to(closed_port)
    [warning] = checks.check_mail_server()
    assert warning.id == "ublog_site.W002"


def test_the_retry_schedule_in_the_admin(admin_client, deliver_to, closed_port):
    deliver_to(closed_port)
    mail.send_mail("Hi", "body", None, ["x@example.org"])
    one_round()
    state = MailRetry.objects.get()
    assert str(state) == (
        f"mail {state.message_id}: 1 attempt(s), next at {state.next_attempt}"
    )
    page = admin_client.get("/admin/ublog_site/mailretry/")
    assert page.status_code == 200
    assert "Connection refused" in page.content.decode()
    assert admin_client.get("/admin/ublog_site/mailretry/add/").status_code == 403
    state.failed = True
    assert str(state).endswith(": 1 attempt(s), failed")


def test_ages_read_by_an_admin():
    now = timezone.now()
    assert outbox.age(None) == "-"
    assert outbox.until(None) == "-"
    assert outbox.age(now - timedelta(seconds=5), now) == "5 s"
    assert outbox.age(now - timedelta(minutes=3, seconds=5), now) == "3 min"
    assert outbox.age(now - timedelta(hours=2), now) == "2 h"
    assert outbox.age(now - timedelta(days=3), now) == "3 d"
    assert outbox.until(now + timedelta(minutes=5), now) == "5 min"
