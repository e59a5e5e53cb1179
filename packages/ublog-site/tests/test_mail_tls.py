"""A smarthost: STARTTLS, implicit TLS and a login, against a real server.

aiosmtpd on loopback with a certificate made here for 127.0.0.1 (trusted
through ``SSL_CERT_FILE``, as a system CA would be): the delivery settings
of ``[email]`` (use_tls, use_ssl, user, password_file) must reach it, and
each way of getting them wrong must be reported as the server's reply.
"""

import ssl
import subprocess

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from mailer.models import Message

from ublog_site.mail.sender import Sender
from ublog_site.models import MailRetry

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1, trusted by this process."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    ok = (auth_data.login, auth_data.password) == (b"ublog", b"s3cret")
    # handled=False: aiosmtpd answers the refusal itself (535).
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_settings(settings, deliver_to):
    def configure(port, *, starttls=False, implicit=False, user="", password=""):
        deliver_to(port)
        settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = starttls, implicit
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = user, password

    return configure


def send_and_deliver():
    mail.send_mail("Over TLS", "body", None, ["x@example.org"])
    Sender(probe_interval=0).round()


def test_starttls_with_a_login(
    smtp_server_on, closed_port, certificate, tls_settings, command_output
):
    server = smtp_server_on(
        closed_port,
        tls_context=certificate,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    tls_settings(closed_port, starttls=True, user="ublog", password="s3cret")
    send_and_deliver()
    assert [m["Subject"] for m in server.messages] == ["Over TLS"]
    assert server.sessions[-1]["tls"] and server.sessions[-1]["authenticated"]
    out = command_output("sendtestemail", "ops@example.org")
    label = f"SMTP ublog@127.0.0.1:{closed_port} (STARTTLS)"
    assert out == f"sent to ops@example.org via {label}\n"

    # A wrong password: the server's 535, retried (the site's settings, not
    # the mail, are wrong), never given up at once.
    tls_settings(closed_port, starttls=True, user="ublog", password="wrong")
    send_and_deliver()
    state = MailRetry.objects.get()
    assert (state.failed, state.unreachable) == (False, False)
    assert state.last_error.startswith("authentication failed: SMTP 535")

    # STARTTLS forgotten: the server's demand, word for word.
    tls_settings(closed_port)
    with pytest.raises(CommandError) as error:
        call_command("sendtestemail", "ops@example.org")
    assert "SMTP 530" in str(error.value) and "STARTTLS" in str(error.value)


def test_implicit_tls(smtp_server_on, closed_port, certificate, tls_settings, settings):
    server = smtp_server_on(closed_port, ssl_context=certificate)
    tls_settings(closed_port, implicit=True)
    send_and_deliver()
    assert [m["Subject"] for m in server.messages] == ["Over TLS"]
    assert not Message.objects.exists()
    # Plain SMTP against an implicit-TLS port: no greeting ever comes.
    tls_settings(closed_port)
    settings.EMAIL_TIMEOUT = 1
    message = call_command_error("sendtestemail", "ops@example.org")
    assert "did not take the mail: the server" in message, message


def test_a_certificate_nobody_vouches_for_is_refused(
    smtp_server_on, closed_port, certificate, tls_settings, monkeypatch
):
    smtp_server_on(closed_port, ssl_context=certificate)
    monkeypatch.delenv("SSL_CERT_FILE")  # only the system's CAs now
    tls_settings(closed_port, implicit=True)
    message = call_command_error("sendtestemail", "ops@example.org")
    assert "CERTIFICATE_VERIFY_FAILED" in message or "certificate verify" in message


def call_command_error(*args) -> str:
    with pytest.raises(CommandError) as error:
        call_command(*args)
    return str(error.value)
