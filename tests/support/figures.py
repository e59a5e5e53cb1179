"""Figures: the numbers a run measures, printed as ``[figure] label: value``.

pytest shows them with ``-s``; ``ublog-build bench`` prints its own table.
"""


def report(label: str, value) -> None:
    print(f"\n[figure] {label}: {value}", flush=True)
