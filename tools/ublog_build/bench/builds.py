"""The build stages, timed with warm caches in a temporary copy of the work
tree (dist/ of the tree is never touched), and a bare dh-virtualenv .deb of
the same pinned requirements to compare the .deb stage with."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from ublog_build import paths, releases, run
from ublog_build.errors import BuildError
from ublog_build.next_version import copy_tree

log = run.logger("bench")

BARE_RULES = """\
#!/usr/bin/make -f
# A bare dh-virtualenv package of the pinned requirements: no ublog logic.
export PIP_CONFIG_FILE = /dev/null
export PIP_NO_INDEX = 1
export PIP_DISABLE_PIP_VERSION_CHECK = 1
export DH_VIRTUALENV_INSTALL_ROOT = /opt/venvs

%:
\tdh $@ --with python-virtualenv

# The same compiled modules as ublog's (build-sdists), then dh-virtualenv.
override_dh_virtualenv:
\t/usr/bin/python3 SHARED/build-sdists --python /usr/bin/python3 \\
\t\t--requirements requirements.txt \\
\t\t--build-requirements build-requirements.txt \\
\t\t--find-links WHEELHOUSE --workdir $(CURDIR)/debian/sdists \\
\t\t--out $(CURDIR)/debian/built-wheels \\
\t\t--out-requirements venv-requirements.txt
\tdh_virtualenv --builtin-venv --python /usr/bin/python3 --skip-install \\
\t\t--requirements venv-requirements.txt \\
\t\t--extra-pip-arg=--no-index \\
\t\t--extra-pip-arg=--find-links=$(CURDIR)/debian/built-wheels \\
\t\t--extra-pip-arg=--find-links=WHEELHOUSE \\
\t\t--extra-pip-arg=--require-hashes \\
\t\t--extra-pip-arg=--only-binary=:all:

# As ublog's rules: the venv is not stripped by debhelper, nor has it shlibs.
override_dh_strip:
\tdh_strip --exclude=/opt/venvs/
override_dh_makeshlibs:
\tdh_makeshlibs --exclude=/opt/venvs/
override_dh_dwz:
\tdh_dwz --exclude=/opt/venvs/
"""

BARE_CONTROL = """\
Source: bench-bare
Section: misc
Priority: optional
Maintainer: ublog bench <bench@ublog.invalid>
Build-Depends: debhelper-compat (= 13), dh-virtualenv (>= 1.2)
Standards-Version: 4.6.2

Package: bench-bare
Architecture: amd64
Depends: ${misc:Depends}, ${shlibs:Depends}
Description: bare dh-virtualenv baseline for ublog's bench
 Only the pinned requirements of the ublog .deb, in a venv.
"""

BARE_CHANGELOG = """\
bench-bare (0.1.0) unstable; urgency=medium

  * Baseline.

 -- ublog bench <bench@ublog.invalid>  Thu, 01 Jan 2026 00:00:00 +0000
"""


def timed(argv: list, cwd: Path, label: str) -> float:
    """Run a stage; its wall time in seconds."""
    log.info(f"{label}: {' '.join(map(str, argv))}")
    started = time.monotonic()
    result = subprocess.run(
        argv, cwd=cwd, env=run.environ(), capture_output=True, text=True
    )
    elapsed = time.monotonic() - started
    if result.returncode:
        raise BuildError(
            f"{label} failed", details=result.stdout[-3000:] + result.stderr[-3000:]
        )
    return elapsed


def build_bare(workdir: Path, tree: Path) -> tuple[float, Path]:
    """A bare dh-virtualenv .deb of requirements/deb.txt: time and file."""
    bare = workdir / "bare" / "src"
    (bare / "debian" / "source").mkdir(parents=True)
    wheelhouse = tree / "dist" / "wheelhouse"
    rules = bare / "debian" / "rules"
    shared = tree / "packaging" / "shared"
    rules.write_text(
        BARE_RULES.replace("WHEELHOUSE", str(wheelhouse)).replace("SHARED", str(shared))
    )
    rules.chmod(0o755)
    (bare / "debian" / "control").write_text(BARE_CONTROL)
    (bare / "debian" / "changelog").write_text(BARE_CHANGELOG)
    (bare / "debian" / "source" / "format").write_text("3.0 (native)\n")
    shutil.copy(tree / "requirements" / "deb.txt", bare / "requirements.txt")
    shutil.copy(tree / "requirements" / "build.txt", bare / "build-requirements.txt")
    elapsed = timed(
        ["env", "DEB_BUILD_OPTIONS=nocheck", "debian/rules", "binary"],
        bare,
        "bare dh-virtualenv",
    )
    debs = list(bare.parent.glob("bench-bare_*.deb"))
    if len(debs) != 1:
        raise BuildError(f"the bare build made {debs}")
    return elapsed, debs[0]


def measure(workdir: Path) -> dict:
    """Time every stage in a copy of the tree (after a warm-up of the caches);
    sizes of what they made."""
    tree = workdir / "tree"
    copy_tree(tree)
    (tree / ".venv").symlink_to(paths.ROOT / ".venv")  # the tool venv: build, pip
    tool = [tree / "tools" / "ublog-build"]
    host = releases.host().codename
    python = [*tool, "python"]
    wheelhouse = [*tool, "wheelhouse", "--release", host]
    # Warm the caches (uv, pip), then time each stage.
    timed(python, tree, "python (warm-up)")
    timed(wheelhouse, tree, "wheelhouse (warm-up)")
    results = {
        "python": timed(python, tree, "python"),
        "wheelhouse": timed(wheelhouse, tree, "wheelhouse"),
        "deb": timed([*tool, "host-deb"], tree, "host-deb"),
    }
    results["bare"], results["bare_path"] = build_bare(workdir, tree)
    dist = tree / "dist" / "python"
    results["dists"] = sorted(dist.glob("*.whl")) + sorted(dist.glob("*.tar.gz"))
    debs = list((tree / "dist" / "deb").glob("ublog_*_amd64.deb"))
    if len(debs) != 1:
        raise BuildError(f"host-deb made {debs}")
    results["deb_path"] = debs[0]
    results["installed_kib"] = int(
        run.output(["dpkg-deb", "-f", debs[0], "Installed-Size"])
    )
    return results
