"""``ublog-ctl lb-check``: the load balancer asks every app host's /healthz.

nginx without a commercial module only notices a broken app host when a
visitor's request fails (``proxy_next_upstream``). ublog-lb-check.service
(``--loop``, on ``role = lb`` hosts only) asks each of ``[cluster]
app_servers`` for /healthz every 5 seconds, marks the ones that did not
answer 200 twice in a row ``down`` in the balancer's site (then reloads
nginx), and puts them back as soon as they answer again. When every app
host fails, none is taken out: there is nothing better to send visitors
to, and nginx's own retries still pick whichever answers.
"""

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..config import Config, ConfigError, load_config
from .errors import AdminError
from .nginx import Nginx
from .setup import limits_of, served_certificate, site_spec
from .status import probe

#: Seconds between two rounds, the time each /healthz may take, and the
#: failed rounds in a row that take a host out (one slow answer does not).
INTERVAL = 5.0
TIMEOUT = 3.0
FALL = 2


def down_servers(failures: dict[str, int]) -> tuple[str, ...]:
    """The app servers to take out: those that failed ``FALL`` rounds in a
    row, unless every server fails."""
    out = tuple(server for server, count in failures.items() if count >= FALL)
    return () if all(failures.values()) else out


def check_once(
    config: Config,
    nginx: Nginx,
    say: Callable[[str], None],
    failures: dict[str, int] | None = None,
    ask: Callable[[str, float], tuple[bool, str]] = probe,
) -> dict[str, int]:
    """One round: ask every app server, rewrite the balancer's site if the
    hosts to take out changed (then reload nginx), say what changed; each
    server's failed rounds in a row."""
    before = failures or {}
    servers = config["cluster", "app_servers"]
    answers = {server: ask(f"http://{server}/healthz", TIMEOUT) for server in servers}
    now = {s: 0 if answers[s][0] else before.get(s, 0) + 1 for s in servers}
    was_down, down = down_servers(before) if before else (), down_servers(now)
    for server in servers:
        text = answers[server][1]
        if server in down and server not in was_down:
            say(f"{server}: /healthz {text}: taken out of the balancer")
        elif now[server] == FALL and all(now.values()):
            say(f"{server}: /healthz {text}: kept in: every app server fails")
        elif server in was_down and server not in down:
            state = "answers again" if not now[server] else "fails, like every other"
            say(f"{server}: /healthz {state}: back in the balancer")
    # The whole site, certificate included: only the upstream changes.
    spec = replace(site_spec(config), tls=served_certificate(config, say), down=down)
    if nginx.configure(spec, limits_of(config)):
        nginx.test()
        nginx.reload()
    return now


def loop(
    config_path: Path, nginx: Nginx, say: Callable[[str], None], interval=INTERVAL
) -> None:  # pragma: no cover (tests/install: test_cluster)
    """Check every ``interval`` seconds, reading the configuration afresh
    each time (an admin's change of app_servers is followed)."""
    failures: dict[str, int] = {}
    while True:
        started = time.monotonic()
        try:
            config = load_config({"UBLOG_CONFIG": str(config_path)})
            if config["ublog", "role"] == "lb":
                failures = check_once(config, nginx, say, failures)
        except (ConfigError, AdminError) as exc:
            say(f"lb-check: {exc}")
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
