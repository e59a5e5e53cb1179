"""rpmlint on the RPM and the spec: nothing left but what rpm/ublog.rpmlintrc
filters, every filter still used (rpmlint reports unused ones as errors)
and every filter explained by a comment right above it."""

import os
import re
import subprocess

from support.figures import report
from ublog_build.paths import ROOT
from ublog_build.releases import RPM_PYTHON

SPEC = ROOT / "rpm" / "ublog.spec"
RPMLINTRC = ROOT / "rpm" / "ublog.rpmlintrc"


def test_rpmlint_is_clean_with_the_documented_filters(dist_rpm, tmp_path):
    # The spec needs what `tools/ublog-build rpm` defines: rpm reads it from
    # ~/.rpmmacros when rpmlint parses the spec.
    (tmp_path / ".rpmmacros").write_text(f"%ublog_python {RPM_PYTHON}\n")
    result = subprocess.run(
        ["rpmlint", "--rpmlintrc", str(RPMLINTRC), str(dist_rpm), str(SPEC)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    output = result.stdout + result.stderr
    summary = re.search(r"(\d+) errors, (\d+) warnings", output)
    assert summary, output[-3000:]
    report("rpmlint", f"{summary.group(0)} (filters in {RPMLINTRC.name})")
    assert summary.groups() == ("0", "0"), output[-6000:]
    assert "1 packages and 1 specfiles checked" in output, output[-3000:]
    assert result.returncode == 0, output[-3000:]


def test_every_filter_is_justified():
    lines = RPMLINTRC.read_text().splitlines()
    filters = [i for i, line in enumerate(lines) if line.startswith("addFilter(")]
    assert len(filters) >= 10
    for i in filters:
        # Walk up over the other filters of the same group to its comment.
        j = i - 1
        while j >= 0 and lines[j].startswith("addFilter("):
            j -= 1
        assert j >= 0 and lines[j].startswith("# "), f"unexplained: {lines[i]}"
    assert all(
        line.startswith(("#", 'addFilter(r"')) or not line.strip() for line in lines
    )
