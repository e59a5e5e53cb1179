"""Measure the ublog pipeline and the installed site; one table, one run.

``tools/ublog-build bench`` (``make bench``, never ``make check``) runs
:func:`main`, as root. Every figure comes from this run, on this machine:

* build wall time of each stage, warm caches, in a temporary copy of the work
  tree (so dist/ of the tree is never touched): the three sdists and wheels
  (``ublog-build python``), the wheelhouse, the quick host .deb
  (``ublog-build host-deb``); the .deb stage is compared with a bare
  dh-virtualenv build of the same pinned requirements (a minimal debian/
  with none of ublog's logic): :mod:`.builds`;
* sizes: each sdist and wheel, the .deb (compressed; installed: its
  Installed-Size, and the venv on disk);
* install: ``apt-get install ublog`` from a local repository in a booted
  Debian of the host's release (systemd-nspawn, tests/support's testbed) to
  the first HTTP 200; serving, with wrk from the host against the
  container's address only, and a flame graph of the signed-in list
  (py-spy): :mod:`.serving`.

Writes the table (:mod:`.report`) to dist/bench.md (and stdout) and a chart
of the serving figures to dist/bench.png (:mod:`.chart`, drawn by the tool
venv's Python, where requirements/bench.txt puts matplotlib). A missing tool
stops it at once, loudly, before anything long starts.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ublog_build import paths
from ublog_build.errors import MissingTool, NeedsRoot

DH_VIRTUALENV = Path("/usr/share/perl5/Debian/Debhelper/Sequence/python_virtualenv.pm")


def check_tools() -> None:
    """Everything bench needs, before a long run starts."""
    for tool in ("wrk", "dpkg-deb", "dpkg-buildpackage"):
        if not shutil.which(tool):
            raise MissingTool(tool)
    if not DH_VIRTUALENV.exists():
        raise MissingTool("dh-virtualenv")
    matplotlib = subprocess.run(
        [paths.tool_python(), "-c", "import matplotlib"], capture_output=True
    )
    if matplotlib.returncode:
        raise MissingTool(
            "matplotlib in the tool venv", "pip install -r requirements/bench.txt"
        )
    if not (paths.tool_python().parent / "py-spy").is_file():
        raise MissingTool(
            "py-spy in the tool venv", "pip install -r requirements/bench.txt"
        )
    if os.geteuid() != 0:
        raise NeedsRoot("testbeds: systemd-nspawn, network namespaces")


def draw_chart(figures: dict, path: Path) -> None:
    """dist/bench.png, drawn by the tool venv's Python (matplotlib)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as data:
        json.dump(figures["serve"], data)
        data.flush()
        subprocess.run(
            [paths.tool_python(), "-m", "ublog_build.bench.chart", data.name, path],
            env={**os.environ, "PYTHONPATH": str(paths.ROOT / "tools")},
            check=True,
        )


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="ublog-build bench", description=__doc__.split("\n\n")[0]
    ).parse_args(argv or [])
    from . import builds, report, serving

    check_tools()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ublog-bench-") as tmp:
        workdir = Path(tmp)
        results = builds.measure(workdir)
        figures = serving.measure(results["deb_path"], workdir / "testbed")
        text = report.table(results, figures)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    os_name = platform.freedesktop_os_release()["PRETTY_NAME"]
    header = (
        "# ublog bench\n\n"
        f"{when}, {platform.node()}: {os.cpu_count()} cores, "
        f"Linux {platform.release()}, {os_name}. "
        "Every figure from one run of `make bench` "
        f"({time.monotonic() - started:.0f} s). Builds in a temporary copy of the "
        "work tree, warm caches. Serving: wrk on the host, the site in a booted "
        "systemd-nspawn container over a veth; client and server share the cores. "
        f"{serving.DEMO_POSTS} text posts in the database, 20 a page.\n\n"
    )
    out = paths.DIST
    out.mkdir(exist_ok=True)
    flame = f"![signed-in list, every worker (py-spy)]({serving.FLAME})"
    (out / "bench.md").write_text(
        header + text + "\n\n![serving](bench.png)\n\n" + flame + "\n"
    )
    draw_chart(figures, out / "bench.png")
    print(header + text)
    print(f"\nwritten: {out / 'bench.md'}, {out / 'bench.png'}, {out / serving.FLAME}")
    return 0
