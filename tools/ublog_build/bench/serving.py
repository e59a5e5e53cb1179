"""The installed site under load: ``apt-get install ublog`` in a booted
testbed of the host's release (tests/support), then wrk from the host
against the container's address only (5 s, 2 threads, 32 connections each):

* a static file from nginx (the ceiling);
* the post list (anonymous, 20 posts a page out of 40 loaded) and a post
  detail through nginx -> gunicorn -> PostgreSQL as installed, and the same
  two before the tuning (no anonymous list cache, a new database
  connection per request);
* the same list from ``ublog-ctl runserver`` and from a single sync
  gunicorn worker.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from ublog_build import base_root, deb, paths, releases, run
from ublog_build.errors import BuildError

log = run.logger("bench")

WRK = ["-t2", "-c32", "-d5s", "--latency", "--timeout", "5s"]
DEMO_POSTS = 40
RUNSERVER_PORT, GUNICORN_PORT = 8001, 8002


def _support():
    """tests/support, the testbed library the install tests use."""
    tests = str(paths.ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


def parse_wrk(out: str) -> dict:
    def seconds(text):
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[unit]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rate and p50 and p99):
        raise BuildError("cannot read wrk's output", details=out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise BuildError(f"wrk got {bad[1]} error responses", details=out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(rate[1]),
        "p50": seconds(p50[1]),
        "p99": seconds(p99[1]),
        "errors": errors[1] if errors else "",
    }


def wrk(url: str) -> dict:
    if not re.match(r"http://10\.213\.\d+\.2[:/]", url):
        raise BuildError(f"refusing to load anything but the testbed: {url}")
    subprocess.run(["wrk", "-t1", "-c4", "-d1s", url], capture_output=True)  # warm
    log.info(f"wrk {' '.join(WRK)} {url}")
    result = subprocess.run(
        ["wrk", *WRK, url], capture_output=True, text=True, timeout=60
    )
    if result.returncode:
        raise BuildError(f"wrk failed on {url}", details=result.stderr)
    return parse_wrk(result.stdout)


def answering(web, path: str = "/"):
    """The site's first 200 from ``web`` (a testbed or a session)."""
    from support.site import wait_for_200

    response = wait_for_200(web, path)
    if response.status != 200:
        raise BuildError(f"no 200 from {path}: {response.status}")
    return response


def measure(host_deb: Path, workdir: Path) -> dict:
    """Install ``host_deb`` in a testbed and load it; the figures."""
    _support()
    from support.db import psql
    from support.httpclient import HttpSession
    from support.leftovers import new_name
    from support.localrepo import install_ublog
    from support.testbed import Testbed

    figures = {}
    tarball = base_root.build(releases.host(), prefetch=deb.relations(host_deb))
    with Testbed(new_name(), tarball, workdir=workdir) as tb:
        log.info("apt-get install ublog")
        started = time.monotonic()
        install_ublog(tb, host_deb)
        figures["apt"] = time.monotonic() - started
        answering(tb)
        figures["install"] = time.monotonic() - started
        figures["venv_kib"] = int(tb.run("du -sk /opt/venvs/ublog").stdout.split()[0])

        # Demo posts (text only), newest first on the list.
        psql(
            tb,
            "INSERT INTO ublog_posts_post (text, image, created, modified, owner_id) "
            "SELECT 'Demo post ' || i || ': ' || repeat('some words to read, ', 10),"
            " '', now() - i * interval '1 minute', now(), NULL "
            f"FROM generate_series(1, {DEMO_POSTS}) AS i",
            "ublog",
        )
        detail = psql(tb, "SELECT max(id) FROM ublog_posts_post", "ublog")
        shown = answering(tb).text.count('class="ublog-post"')
        if shown != 20:
            raise BuildError(f"the list page shows {shown} posts, not 20")

        # The two comparison servers, run by the container's systemd.
        env = "--setenv=UBLOG_CONFIG=/etc/ublog/ublog.conf"
        common = ["systemd-run", "--property=User=ublog", env,
                  "--working-directory=/var/lib/ublog"]  # fmt: skip
        tb.run([*common, "--unit=bench-runserver",
                "/opt/venvs/ublog/bin/ublog-ctl", "runserver",
                f"0.0.0.0:{RUNSERVER_PORT}", "--noreload"])  # fmt: skip
        tb.run([*common, "--unit=bench-gunicorn",
                "/opt/venvs/ublog/bin/gunicorn", "--workers", "1",
                "--worker-class", "sync", "--bind", f"0.0.0.0:{GUNICORN_PORT}",
                "ublog_site.wsgi"])  # fmt: skip
        runserver = f"http://{tb.address}:{RUNSERVER_PORT}"
        gunicorn = f"http://{tb.address}:{GUNICORN_PORT}"
        for url in (runserver, gunicorn):
            page = answering(HttpSession(url)).text
            if page.count('class="ublog-post"') != 20:
                raise BuildError(f"{url}/ does not show the same list")
        static = "/static/ublog_site/site.css"
        if tb.http(static).status != 200 or tb.http(f"/{detail}/").status != 200:
            raise BuildError("the static file or the detail page does not answer 200")

        # Before the tuning: no list cache, a new database connection for
        # every request (what the configuration did up to 0.1.0).
        conf = "/etc/ublog/ublog.conf"
        tb.run(["cp", "-p", conf, f"{conf}.tuned"])  # keeps root:ublog 0640
        tb.run(["sed", "-i", "-e", r"/^\[cache\]$/a list_seconds = 0",
                "-e", r"/^\[database\]$/a conn_max_age = 0", conf])  # fmt: skip
        tb.run(["systemctl", "restart", "ublog.service"])
        answering(tb)
        before = {
            "list_untuned": wrk(f"{tb.url}/"),
            "detail_untuned": wrk(f"{tb.url}/{detail}/"),
        }
        tb.run(["mv", f"{conf}.tuned", conf])
        tb.run(["systemctl", "restart", "ublog.service"])
        answering(tb)
        figures["serve"] = {
            "static": wrk(f"{tb.url}{static}"),
            "list": wrk(f"{tb.url}/"),
            **before,
            "detail": wrk(f"{tb.url}/{detail}/"),
            "runserver": wrk(f"{runserver}/"),
            "gunicorn1": wrk(f"{gunicorn}/"),
        }
        workers = tb.run(
            "pgrep -u ublog -f 'gunicorn --config' | wc -l", check=False
        ).stdout.strip()
        figures["workers"] = max(int(workers or 1) - 1, 1)  # minus the arbiter
        tb.run(["systemctl", "stop", "bench-runserver", "bench-gunicorn"])
    return figures
