"""Accessibility checks with axe-core, in the page a real browser shows.

axe-core comes from the npm registry, pinned with its integrity hash in
``tests/support/axe/package-lock.json``; ``npm ci`` installs it once into the
cache (``$CACHE_DIR/axe-<hash of the lock>``), so later runs need no network.
:func:`check` injects it into a Playwright page, runs every WCAG 2.x A and AA
rule (and axe's best practices), and fails with the violations of impact
*serious* or *critical*, each with the elements it found; the minor and
moderate ones are returned, for the figures.
"""

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from ublog_build import paths

LOCK_DIR = Path(__file__).with_name("axe")
#: What axe runs: WCAG 2.0, 2.1 and 2.2 levels A and AA, and best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING = {"serious", "critical"}


def script() -> Path:
    """axe.min.js, installed by ``npm ci`` from the lock file if missing."""
    lock = (LOCK_DIR / "package-lock.json").read_bytes()
    target = paths.cache_dir() / f"axe-{hashlib.sha256(lock).hexdigest()[:12]}"
    axe = target / "node_modules" / "axe-core" / "axe.min.js"
    if axe.is_file():
        return axe
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("no npm: apt-get install npm (scripts/install-deps)")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(LOCK_DIR / name, partial / name)
    done = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--quiet"],
        cwd=partial,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci of axe-core failed:\n{done.stdout}\n{done.stderr}")
    partial.rename(target)
    return axe


def check(page, name: str) -> list[dict]:
    """Run axe on *page* as it is now; fail on serious or critical
    violations (named *name* in the message). Returns the others."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(script()))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    failing = [v for v in results["violations"] if v["impact"] in FAILING]
    if failing:
        lines = [
            f"{v['impact']} {v['id']}: {v['help']} "
            f"({', '.join(n['target'][0] for n in v['nodes'][:5])})"
            for v in failing
        ]
        pytest.fail(f"axe on {name} ({page.url}):\n" + "\n".join(lines))
    return [v for v in results["violations"] if v["impact"] not in FAILING]
