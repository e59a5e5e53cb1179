"""A tiny SMTP server for tests: it accepts every mail and keeps it in memory.

Enough of RFC 5321 for Python's smtplib (what Django's SMTP backend uses):
HELO/EHLO, MAIL, RCPT, DATA (with dot-unstuffing), RSET, NOOP, QUIT; no
authentication, no TLS. Runs in a thread of the test process::

    with SmtpSink("10.213.1.1") as sink:
        ...  # the site sends to sink.host:sink.port
        message = sink.wait_for(lambda m: m["To"] == "ann@example.org")
"""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
import time
from email.message import EmailMessage


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        sink: SmtpSink = self.server.sink
        self.reply("220 ublog-test-sink ESMTP")
        sender, recipients = None, []
        while line := self.rfile.readline(65536):
            command = line.decode("ascii", "replace").rstrip("\r\n")
            verb = command[:4].upper()
            if verb == "EHLO":
                self.reply("250-ublog-test-sink")
                self.reply("250-8BITMIME")
                self.reply("250 SIZE 10485760")
            elif verb == "HELO":
                self.reply("250 ublog-test-sink")
            elif verb == "MAIL":
                sender, recipients = command[10:].strip(), []
                self.reply("250 OK")
            elif verb == "RCPT":
                if sender is None:
                    self.reply("503 MAIL first")
                    continue
                recipients.append(command[8:].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                if not recipients:
                    self.reply("503 RCPT first")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = self._read_data()
                sink._deliver(sender, recipients, data)
                sender, recipients = None, []
                self.reply("250 OK queued")
            elif verb == "RSET":
                sender, recipients = None, []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def _read_data(self) -> bytes:
        lines = []
        while True:
            line = self.rfile.readline(1 << 20)
            if not line or line in (b".\r\n", b".\n"):
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    """An SMTP server on ``host:port`` (port 0: any free one) keeping mails."""

    def __init__(self, host: str, port: int = 0):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._arrived = threading.Condition()
        self._server = _Server((host, port), _Handler)
        self._server.sink = self
        self.host, self.port = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SmtpSink:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="smtp-sink", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()

    def _deliver(self, sender: str, recipients: list[str], data: bytes) -> None:
        message = email.message_from_bytes(data, policy=email.policy.default)
        with self._arrived:
            self.envelopes.append((sender, recipients))
            self.messages.append(message)
            self._arrived.notify_all()

    def wait_for(self, match=lambda message: True, timeout: float = 30):
        """The first mail ``match`` accepts, waiting up to ``timeout`` s for it."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self.messages:
                    if match(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no matching mail within {timeout} s; got "
                        f"{[m['Subject'] for m in self.messages]}"
                    )
                self._arrived.wait(left)
