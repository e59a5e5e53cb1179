"""Free TCP ports on loopback, for servers a test starts."""

import socket


def free_port() -> int:
    """A port nobody listens on now (the caller retries if it is taken
    before its server binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
