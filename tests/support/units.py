"""systemd's view of an installed testbed: unit states and how exposed a
service is (``systemd-analyze security``: 0 is sealed, 10 is wide open)."""

from __future__ import annotations

import re

#: The exposure a ublog service may have at most ("OK" in systemd's words).
MAX_EXPOSURE = 2.0


def state(tb, unit: str) -> str:
    """``systemctl is-active``: active, inactive, failed, unknown..."""
    return tb.run(["systemctl", "is-active", unit], check=False).stdout.strip()


def exposure(tb, unit: str) -> tuple[float, str]:
    """The overall exposure level of ``unit`` and systemd's word for it."""
    out = tb.run(["systemd-analyze", "security", "--no-pager", unit], check=False)
    found = re.search(
        rf"Overall exposure level for {re.escape(unit)}: ([\d.]+) (\w+)", out.stdout
    )
    assert found, out.stdout[-3000:] + out.stderr
    return float(found[1]), found[2]
