"""lintian on the built .deb: no errors and no warnings.

Every override in debian/ublog.lintian-overrides carries its reason; an
override that no longer matches anything is reported by lintian as
``unused-override`` and fails this test too.
"""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_lintian_is_clean():
    debs = sorted((ROOT / "dist" / "deb").glob("ublog_*_amd64.deb"))
    assert len(debs) == 1, f"run `make` first: {debs}"
    result = subprocess.run(
        ["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0"]
        + list(map(str, debs)),
        capture_output=True,
        text=True,
    )
    findings = [
        line
        for line in result.stdout.splitlines()
        if line[:2] in ("E:", "W:") or "unused-override" in line
    ]
    print(f"\n[figure] lintian: {len(findings)} errors or warnings")
    assert result.returncode == 0 and not findings, result.stdout + result.stderr
