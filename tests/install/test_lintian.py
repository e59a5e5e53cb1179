"""lintian on the built .debs (every release): no errors and no warnings.

Every override in debian/ublog.lintian-overrides carries its reason; an
override that no longer matches anything is reported by lintian as
``unused-override`` and fails this test too.
"""

import subprocess

import pytest
from support.figures import report
from ublog_build.releases import RELEASES


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.codename)
def test_lintian_is_clean(release, release_deb):
    deb = release_deb(release)
    result = subprocess.run(
        ["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0"]
        + [str(deb)],
        capture_output=True,
        text=True,
    )
    findings = [
        line
        for line in result.stdout.splitlines()
        if line[:2] in ("E:", "W:") or "unused-override" in line
    ]
    report(f"lintian {deb.name}", f"{len(findings)} errors or warnings")
    assert result.returncode == 0 and not findings, result.stdout + result.stderr
