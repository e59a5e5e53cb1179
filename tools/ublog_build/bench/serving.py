"""The installed site under load: ``apt-get install ublog`` in a booted
testbed of the host's release (tests/support), then wrk from the host
against the container's address only (5 s, 2 threads, 32 connections),
each of :data:`LOADS` in turn, as installed (40 posts, 20 a page):

* a static file from nginx (the ceiling) and Django's 404 through the same
  stack (Django's floor), for an anonymous visitor and for a signed-in one
  (whose every page reads the session and the user);
* the list and a post's page as anonymous visitors get them (nginx's
  micro-cache), the same with the micro-cache off (``[cache] nginx_pages =
  false``: gunicorn and Django for every request), and as a signed-in
  visitor gets them (a session cookie: never cached);

and then, in a run of its own (sampling slows the workers), py-spy samples
every gunicorn worker while the signed-in list is loaded: the flame graph
goes to dist/bench-signed-in-list.svg.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from ublog_build import base_root, deb, paths, releases, run
from ublog_build.errors import BuildError, MissingTool

log = run.logger("bench")

WRK = ["-t2", "-c32", "-d5s", "--latency", "--timeout", "5s"]
DEMO_POSTS = 40
STATIC = "/static/ublog_site/site.css"
MISSING = "/bench/no-such-page/"
#: The flame graph of the signed-in list (py-spy, every worker).
FLAME = "bench-signed-in-list.svg"
#: A session for the signed-in loads: its key, printed by the site's Django.
SESSION = """
from django.contrib.auth.models import User
from django.test import Client
user, _ = User.objects.get_or_create(username="bench", email="bench@ex.org")
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
"""
FORGET_LISTS = """
from ublog_posts import list_cache
list_cache.new_generation()
"""


def _support():
    """tests/support, the testbed library the install tests use."""
    tests = str(paths.ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


def py_spy() -> Path:
    """py-spy of the tool venv (requirements/bench.txt): a static binary."""
    binary = paths.tool_python().parent / "py-spy"
    if not binary.is_file():
        raise MissingTool("py-spy in the tool venv", "make bench installs it")
    return binary


def parse_wrk(out: str, status: int = 200) -> dict:
    """wrk's rate and latency percentiles; every answer must have been a
    2xx or 3xx, or, for ``status`` 404, must all have been errors."""

    def seconds(text):
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[unit]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"^\s+(\d+) requests in", out, re.M)
    if not (rate and p50 and p99 and total):
        raise BuildError("cannot read wrk's output", details=out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad_count = int(bad[1]) if bad else 0
    if status < 400 and bad_count:
        raise BuildError(f"wrk got {bad_count} error responses", details=out)
    if status >= 400 and bad_count != int(total[1]):
        raise BuildError(f"wrk got {int(total[1]) - bad_count} non-{status}", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(rate[1]),
        "p50": seconds(p50[1]),
        "p99": seconds(p99[1]),
        "errors": errors[1] if errors else "",
    }


def wrk(url: str, headers: dict | None = None, status: int = 200) -> dict:
    if not re.match(r"http://10\.213\.\d+\.2[:/]", url):
        raise BuildError(f"refusing to load anything but the testbed: {url}")
    options = [f"-H{name}: {value}" for name, value in (headers or {}).items()]
    warm = ["wrk", "-t1", "-c4", "-d1s", *options, url]
    subprocess.run(warm, capture_output=True)
    log.info(f"wrk {' '.join(WRK)} {url}" + (" (signed in)" if headers else ""))
    result = subprocess.run(
        ["wrk", *WRK, *options, url], capture_output=True, text=True, timeout=60
    )
    if result.returncode:
        raise BuildError(f"wrk failed on {url}", details=result.stderr)
    return parse_wrk(result.stdout, status)


def answering(web, path: str = "/", headers: dict | None = None):
    """The site's first 200 from ``web`` (a testbed or a session)."""
    from support.site import wait_for_200

    response = wait_for_200(web, path, headers=headers)
    if response.status != 200:
        raise BuildError(f"no 200 from {path}: {response.status}")
    return response


def cache_status(tb, path: str, headers: dict | None = None) -> str:
    """What nginx's micro-cache does for ``path`` now (after one warm-up)."""
    from support.pagecache import status_of

    tb.http(path, headers=headers)
    return status_of(tb.http(path, headers=headers)) or "none"


def profiled(tb, seconds: int, load) -> None:
    """Run ``load()`` while py-spy samples every gunicorn worker for
    ``seconds`` inside the testbed; the flame graph goes to dist/."""
    spy = tb.copy_in(py_spy(), "/usr/local/bin/py-spy")
    spy.chmod(0o755)
    arbiter = tb.run(["systemctl", "show", "-P", "MainPID", "ublog.service"])
    record = ["/usr/local/bin/py-spy", "record", "--pid", arbiter.stdout.strip(),
              "--subprocesses", "--duration", str(seconds), "--rate", "250",
              "--nonblocking", "--output", f"/root/{FLAME}"]  # fmt: skip
    done = {}
    spying = threading.Thread(
        target=lambda: done.update(result=tb.run(record, check=False))
    )
    spying.start()
    time.sleep(1)  # py-spy attaches to each worker
    load()
    spying.join(timeout=seconds + 60)
    result = done.get("result")
    if result is None or result.returncode:
        details = result.stderr if result is not None else "still running"
        raise BuildError("py-spy did not record the workers", details=details)
    paths.DIST.mkdir(exist_ok=True)
    (paths.DIST / FLAME).write_bytes((tb.root / "root" / FLAME).read_bytes())


def measure(host_deb: Path, workdir: Path) -> dict:
    """Install ``host_deb`` in a testbed and load it; the figures."""
    _support()
    from support.db import django, psql
    from support.leftovers import new_name
    from support.localrepo import install_ublog
    from support.site import configured
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
        detail = f"/{psql(tb, 'SELECT max(id) FROM ublog_posts_post', 'ublog')}/"
        # Written behind Django's back: the empty list the first 200 left in
        # Django's list cache and nginx's micro-cache must go.
        signed = {"Cookie": f"sessionid={django(tb, SESSION + FORGET_LISTS)}"}
        time.sleep(1.0)
        for path in ("/", detail):
            for headers in (None, signed):
                page = answering(tb, path, headers).text
                shown = page.count('class="ublog-post"')
                if path == "/" and shown != 20:
                    raise BuildError(f"the list page shows {shown} posts, not 20")
                if bool(headers) != ('class="site-user">bench<' in page):
                    raise BuildError(f"{path}: not the page of the right visitor")
        if tb.http(STATIC).status != 200 or tb.http(MISSING).status != 404:
            raise BuildError("the static file or the 404 does not answer as it should")
        checks = {
            "anonymous": cache_status(tb, "/"),
            "signed in": cache_status(tb, "/", signed),
        }
        if checks != {"anonymous": "HIT", "signed in": "BYPASS"}:
            raise BuildError(
                f"nginx's micro-cache does not work as installed: {checks}"
            )

        url = tb.url
        serve = {
            "static": wrk(url + STATIC),
            "not_found": wrk(url + MISSING, status=404),
            "list": wrk(url + "/"),
            "detail": wrk(url + detail),
        }
        serve["not_found_signed"] = wrk(url + MISSING, signed, status=404)
        serve["list_signed"] = wrk(url + "/", signed)
        serve["detail_signed"] = wrk(url + detail, signed)
        # The flame graph from a run of its own: sampling slows the workers.
        profiled(tb, 5, lambda: wrk(url + "/", signed))
        with configured(tb, {"cache": {"nginx_pages": "false"}}):
            if cache_status(tb, "/") != "none":
                raise BuildError("[cache] nginx_pages = false left the cache on")
            serve["list_uncached"] = wrk(url + "/")
            serve["detail_uncached"] = wrk(url + detail)
        figures["serve"] = serve
        workers = tb.run(
            "pgrep -u ublog -f 'gunicorn --config' | wc -l", check=False
        ).stdout.strip()
        figures["workers"] = max(int(workers or 1) - 1, 1)  # minus the arbiter
    return figures
