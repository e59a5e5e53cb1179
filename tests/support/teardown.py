"""Tear down what is still up at interpreter exit and on SIGTERM/SIGHUP.

Testbeds and LANs :func:`track` themselves while they are up and
:func:`forget` themselves when closed; whatever is still tracked is closed
at exit or on those signals (testbeds first, then the LANs they were
attached to), and a signal is then re-raised so the process dies of it as it
would have.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading

from support.errors import TestbedError

# Closed in this order: the testbeds, then the LANs joining them.
_live: dict[str, set] = {"testbed": set(), "lan": set()}


def track(thing, kind: str) -> None:
    """Close ``thing`` (a ``"testbed"`` or a ``"lan"``) at exit if still up."""
    _install_handlers()
    _live[kind].add(thing)


def forget(thing) -> None:
    for things in _live.values():
        things.discard(thing)


def close_all() -> None:
    for things in _live.values():
        for thing in list(things):
            try:
                thing.close()
            except TestbedError as e:
                print(e, file=sys.stderr)


def _on_signal(signum, frame) -> None:
    """Tear everything down, then die of the signal as we would have."""
    close_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _on_signal)


atexit.register(close_all)
