"""Helpers of the race tests: run an action in many real threads at once,
and print the figures they measure."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

#: Concurrent requests of every race.
N = 32


def race(action, n: int = N) -> list:
    """Call ``action(i)`` for i in range(n), in n threads released together
    by a barrier; return the results in order (a thread's exception is
    raised here). Each thread closes its database connections."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        try:
            return action(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def figure(label: str, value) -> None:
    """Print a measured figure as ``[figure] label: value`` (``pytest -s``)."""
    print(f"\n[figure] {label}: {value}", flush=True)
