"""Run the tests against ublog_site.settings, configured by a generated file.

This module is imported before Django is set up: it removes every ``UBLOG_*``
variable of the calling environment, writes a test configuration (SQLite in a
temporary directory) and points ``UBLOG_CONFIG`` at it, so neither the
environment nor ``/etc/ublog/ublog.conf`` of the machine can affect the tests.

Mail tests get a real SMTP server on loopback (``smtp_server``, aiosmtpd) or
a port where nothing listens (``closed_port``), never a mock. The cache and
rate-limit tests get their own memcached, Redis and PostgreSQL servers
(``memcached``, ``redis_server``, ``postgresql``), on loopback or a unix
socket only, stopped by PID afterwards.
"""

import atexit
import contextlib
import email
import email.policy
import io
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
    config.addinivalue_line(
        "markers", "live: the whole site under gunicorn, raced over HTTP"
    )


#: Set (to 1) in the one tox environment that runs the ``live`` tests: they
#: take a minute and test the site's composition, which no Python or Django
#: version of the matrix changes; tests/install races the installed site too.
LIVE = "SITE_LIVE_TESTS"


def pytest_collection_modifyitems(config, items):
    """Leave the ``live`` tests out unless $SITE_LIVE_TESTS is 1."""
    if os.environ.get(LIVE) == "1":
        return
    left_out = [item for item in items if item.get_closest_marker("live")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("live")]


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
def nginx_tree(tmp_path):
    """Make a fake nginx configuration under ``tmp_path/nginx`` and return the
    ``Nginx`` that manages it: Debian's layout (``sites-available``, and
    ``sites-enabled`` unless ``enabled=False``), EL's (``conf.d``) or, with
    any other ``layout``, no nginx at all. Every
    path it writes or removes (marker, snippets, the page cache, the rpm
    marker) is under ``tmp_path``, never the machine's; keywords replace one."""
    from ublog_site.system.nginx import Nginx

    def make(layout: str = "debian", enabled: bool = True, **paths) -> Nginx:
        etc = paths.pop("etc", tmp_path / "nginx")
        if layout == "debian":
            (etc / "sites-available").mkdir(parents=True, exist_ok=True)
            if enabled:
                (etc / "sites-enabled").mkdir(exist_ok=True)
        elif layout == "el":
            (etc / "conf.d").mkdir(parents=True, exist_ok=True)
        defaults = {
            "marker": tmp_path / "marker",
            "snippets": tmp_path / "nginx.d",
            "rpm_marker": tmp_path / "rpm-package-version",
            "page_cache": tmp_path / "page-cache",
        }
        return Nginx(etc, **{**defaults, **paths})

    return make


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


# -- cache and database servers of our own -------------------------------------


def _missing(what: str):
    """Fail when a server is not installed: on CI (``CI=true``) always, since
    scripts/install-deps installs them; elsewhere skip the test."""
    message = f"{what} is not installed (scripts/install-deps installs it)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def _wait_for_port(process, port: int, what: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"{what} did not start")
            time.sleep(0.05)


@pytest.fixture
def memcached():
    """memcached on a free loopback port, ended by PID afterwards."""
    binary = shutil.which("memcached")
    if binary is None:
        pytest.fail("memcached is not installed (scripts/install-deps installs it)")
    port = free_port()
    user = ["-u", "nobody"]  # memcached refuses to run as root without -u
    argv = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16", *user]
    with _daemon(argv, port, "memcached"):
        yield f"127.0.0.1:{port}"


@pytest.fixture
def redis_server():
    """redis-server on a free loopback port, no persistence; its URL."""
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        _missing("redis-server")
    port = free_port()
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    argv += ["--appendonly", "no", "--loglevel", "warning"]
    with _daemon(argv, port, "redis-server", stdout=subprocess.DEVNULL):
        yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def _daemon(argv: list[str], port: int, name: str, **popen):
    """A server we start, listening on ``port``; ended by its PID."""
    process = subprocess.Popen(argv, **popen)
    try:
        _wait_for_port(process, port, name)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class PostgreSQL:
    """A throwaway cluster: connect as ``user`` through the socket in
    ``host`` (a directory); no TCP."""

    host: str
    user: str = "postgres"
    created: int = 0

    def create_database(self, prefix: str) -> str:
        import psycopg

        self.created += 1
        name = f"{prefix}_{self.created}"
        with psycopg.connect(
            host=self.host, user=self.user, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name


@pytest.fixture(scope="session")
def postgresql():
    """A PostgreSQL cluster of the installed server binaries, listening on a
    unix socket in a temporary directory only, run as the ``postgres`` user
    when the tests run as root (it refuses root), stopped by PID at the end."""
    binaries = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name),
    )
    if not binaries:
        _missing("the PostgreSQL server (package postgresql)")
    bindir = binaries[-1].parent
    root = Path(tempfile.mkdtemp(prefix="ublog-pg-"))
    data, run = root / "data", root / "run"
    run.mkdir()
    owner = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for path in (root, run):
            os.chown(path, account.pw_uid, account.pw_gid)
        owner = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    subprocess.run(
        [bindir / "initdb", "-D", data, "-U", "postgres", "-A", "trust"]
        + ["-E", "UTF8", "--no-sync"],
        check=True,
        stdout=subprocess.DEVNULL,
        **owner,
    )
    settings = {
        "listen_addresses": "",
        "unix_socket_directories": run,
        "fsync": "off",
        "max_connections": 300,
    }
    options = [
        item for key, value in settings.items() for item in ("-c", f"{key}={value}")
    ]
    log = (root / "postgresql.log").open("wb")
    process = subprocess.Popen(
        [bindir / "postgres", "-D", data, *options],
        stdout=log,
        stderr=subprocess.STDOUT,
        **owner,
    )
    try:
        deadline = time.monotonic() + 30
        while not (run / ".s.PGSQL.5432").exists():
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("PostgreSQL did not start")
            time.sleep(0.05)
        time.sleep(0.2)
        yield PostgreSQL(host=str(run))
    finally:
        process.send_signal(signal.SIGINT)  # fast shutdown
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def waiting_backend():
    """``waiting_backend(host, name, user, wait, persistent=False)``: a
    connection of ublog's PostgreSQL backend (ublog_site.db.postgresql)
    waiting up to ``wait`` seconds for a restarting server, persistent with
    health checks if asked; made outside Django's settings."""
    from django.db.utils import ConnectionHandler

    def connect(host: str, name: str, user: str, wait: float, persistent=False):
        handler = ConnectionHandler(
            {
                "default": {
                    "ENGINE": "ublog_site.db.postgresql",
                    "NAME": name,
                    "USER": user,
                    "HOST": host,
                    "OPTIONS": {"connect_wait": wait},
                    # As the site runs ([database] conn_max_age > 0).
                    "CONN_MAX_AGE": 60 if persistent else 0,
                    "CONN_HEALTH_CHECKS": persistent,
                }
            }
        )
        return handler["default"]

    return connect
