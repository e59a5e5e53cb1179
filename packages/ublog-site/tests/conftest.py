"""Run the tests against ublog_site.settings, configured by a generated file.

This module is imported before Django is set up: it removes every ``UBLOG_*``
variable of the calling environment, writes a test configuration (SQLite in a
temporary directory) and points ``UBLOG_CONFIG`` at it, so neither the
environment nor ``/etc/ublog/ublog.conf`` of the machine can affect the tests.

Mail tests get a real SMTP server on loopback (``smtp_server``, aiosmtpd) or
a port where nothing listens (``closed_port``), never a mock.
"""

import atexit
import email
import email.policy
import io
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command

for _name in [name for name in os.environ if name.startswith("UBLOG_")]:
    del os.environ[_name]

TMP = Path(tempfile.mkdtemp(prefix="ublog-site-tests-"))
atexit.register(shutil.rmtree, TMP, ignore_errors=True)
DATA_DIR = TMP / "data"
TEST_CONFIG = TMP / "ublog.conf"
TEST_SECRET_KEY = "test-only-secret-key-" + "x1y2z3" * 8
TEST_CONFIG.write_text(
    f"""\
[ublog]
secret_key = {TEST_SECRET_KEY}
data_dir = {DATA_DIR}

[database]
engine = sqlite

[email]
backend = console
"""
)
os.environ["UBLOG_CONFIG"] = str(TEST_CONFIG)
# Run Django commands as whoever runs the tests, even as root on a machine
# that has the packaged ublog user.
os.environ["UBLOG_CTL_USER"] = "root"
os.environ["UBLOG_DATA_DIR"] = str(DATA_DIR)
os.environ["DJANGO_SETTINGS_MODULE"] = "ublog_site.settings"


def pytest_configure(config):
    # Load the settings now: pytest-django then sets Django up (trylast).
    from django.conf import settings

    assert settings.CONFIG.source == TEST_CONFIG


def _bin(name):
    path = Path(sys.executable).with_name(name)
    return str(path) if path.exists() else shutil.which(name)


@pytest.fixture
def ublog_ctl():
    """The path of the installed ``ublog-ctl`` script."""
    return _bin("ublog-ctl")


@pytest.fixture
def clean_env(monkeypatch):
    """``os.environ`` without any ``UBLOG_*`` variable (restored afterwards)."""
    for name in list(os.environ):
        if name.startswith("UBLOG_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def write_config(tmp_path):
    """Write a configuration file; return its path."""

    def write(text, name="ublog.conf"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# -- a real SMTP server on loopback (aiosmtpd) ---------------------------------


def free_port() -> int:
    """A loopback TCP port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every mail; refuses chosen recipients with the
    reply given in ``refuse`` (e.g. ``"550 5.1.1 no such user"``)."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        #: Per mail: whether the session used TLS and logged in.
        self.sessions: list[dict] = []
        self.refuse: dict[str, str] = {}
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.sessions.append(
            {"tls": session.ssl is not None, "authenticated": session.authenticated}
        )
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK queued"

    def start(self, port: int, **options) -> "Mailbox":
        from aiosmtpd.controller import Controller

        # aiosmtpd logs every connection, from its own thread, even after
        # pytest closed the stream it captured: only its warnings, please.
        logging.getLogger("mail.log").setLevel(logging.WARNING)

        self.port = port
        self._controller = Controller(self, hostname="127.0.0.1", port=port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port where no mail server (nor anything else) listens."""
    return free_port()


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (its ``.port``), stopped afterwards."""
    box = Mailbox().start(free_port())
    yield box
    box.stop()


@pytest.fixture
def smtp_server_on():
    """Start a real SMTP server on a given port, later in the test (a server
    that comes back), with aiosmtpd's options (TLS, logins); stopped
    afterwards."""
    started = []

    def start(port: int, **options) -> Mailbox:
        started.append(Mailbox().start(port, **options))
        return started[-1]

    yield start
    for box in started:
        box.stop()


@pytest.fixture
def deliver_to(settings):
    """Point the site's mail at 127.0.0.1:PORT through the outbox, as the
    packaged site is (pytest-django replaced EMAIL_BACKEND by locmem)."""

    def point(port: int) -> None:
        settings.EMAIL_BACKEND = "ublog_site.mail.queue.QueueBackend"
        settings.MAILER_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_TIMEOUT = 5

    return point


@pytest.fixture
def command_output():
    """Run a management command in process; return what it printed."""

    def run(*args) -> str:
        out = io.StringIO()
        call_command(*args, stdout=out)
        return out.getvalue()

    return run
