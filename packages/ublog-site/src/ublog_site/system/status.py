"""``ublog-ctl status``: what runs and where the data is, one line each."""

import http.client
import os
import pwd
import urllib.error
import urllib.request
from collections.abc import Callable

from ..config import Config
from . import backup, libraries
from .commands import ctl, run, systemd_running
from .database import Database, has_schema
from .errors import AdminError


def _count_files(path) -> tuple[int, int]:
    files = size = 0
    if path.is_dir():
        for item in path.rglob("*"):
            if item.is_file():
                files += 1
                size += item.stat().st_size
    return files, size


#: Units that must be active on a host that runs the application
#: (ublog.service itself is socket-activated: inactive until a request).
UNITS = (
    "ublog.socket",
    "ublog.service",
    "ublog-mailer.service",
    "ublog-cleanup.timer",
    "ublog-backup.timer",
)
#: What must be active on a load balancer instead.
LB_UNITS = ("ublog-lb-check.service",)


def _units(say, role: str) -> bool:  # pragma: no cover (tests/install)
    healthy = True
    for unit in LB_UNITS if role == "lb" else UNITS:
        out = run(["systemctl", "is-active", unit], what="systemctl", check=False)
        active = out.stdout.decode().strip() or "unknown"
        say(f"service:  {unit} {active}")
        healthy &= unit == "ublog.service" or active == "active"
    return healthy


def _libraries(say) -> None:  # pragma: no cover (tests/install)
    """Libraries replaced on disk (a security update) that the running
    units still map: they need a restart to use the new ones."""
    stale = {}
    for unit in (u for u in UNITS if u.endswith(".service")):
        out = run(
            ["systemctl", "show", "-P", "ControlGroup", unit],
            what="systemctl",
            check=False,
        )
        group = out.stdout.decode().strip()
        for path in libraries.replaced_libraries(libraries.cgroup_pids(group)):
            stale.setdefault(path, set()).add(unit)
    if not stale:
        say("libraries: the running services use the installed ones")
        return
    units = sorted(set().union(*stale.values()))
    names = ", ".join(sorted(path.rsplit("/", 1)[1] for path in stale))
    say(f"libraries: replaced since the services started: {names}")
    say(f"           restart to use them: systemctl restart {' '.join(units)}")


def _mail(config: Config, say, service_user: str) -> bool:
    """The outbox and the mail server (``ublog-ctl outbox --summary``, run
    as the service user when root, like every Django command)."""
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(service_user)
            user = service_user
        except KeyError:
            pass
    result = ctl(
        "outbox",
        "--summary",
        config=config.source,
        user=user,
        what="reading the outbox",
        capture=True,
        check=False,
    )
    lines = result.stdout.decode(errors="replace").splitlines()
    if result.returncode not in (0, 3) or not lines:
        errors = result.stderr.decode(errors="replace").strip().splitlines()
        say(f"mail:     unknown: {errors[-1] if errors else 'no answer'}")
        return False
    for line in lines:
        say(line)
    return result.returncode == 0


#: The site's health check through this host's nginx (ublog_site.health).
HEALTHZ = "http://127.0.0.1/healthz"


def probe(url: str = HEALTHZ, timeout: float = 5) -> tuple[bool, str]:
    """GET ``url``: whether it answered 200, and what it said (one line)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read(200).decode(errors="replace").strip()
            return True, f"{response.status} {body}"
    except urllib.error.HTTPError as exc:
        body = exc.read(200).decode(errors="replace").strip()
        return False, f"{exc.code} {body}".strip()
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"no answer: {reason}"


def status(
    config: Config, say: Callable[[str], None] = print, service_user: str = "ublog"
) -> bool:
    """Print the site's state; True when everything looks healthy."""
    healthy = True
    say(f"config:   {config.source_label}")
    db = Database.from_config(config)
    where = "local socket" if db.is_local else (db.host or "file")
    try:
        schema = has_schema(db)
        state = "reachable, migrated" if schema else "reachable, not migrated yet"
        healthy &= schema
    except AdminError as exc:
        schema, state, healthy = False, f"unreachable: {exc}", False
    say(f"database: {db.engine} {db.name} ({where}): {state}")
    if systemd_running():
        healthy &= _units(say, config["ublog", "role"])
        _libraries(say)
        if config["ublog", "role"] != "lb":
            answered, text = probe()
            say(f"healthz:  {HEALTHZ}: {text}")
            healthy &= answered
    else:
        say("service:  systemd is not running here (no service state)")
    if schema and config["ublog", "role"] != "lb":
        healthy &= _mail(config, say, service_user)
    files, size = _count_files(config["ublog", "media_root"])
    say(f"media:    {config['ublog', 'media_root']}: {files} files, {size} bytes")
    directory = config["backup", "dir"]
    backups = backup.list_backups(directory) if directory.is_dir() else []
    newest = backups[-1].dump.name if backups else "none"
    say(f"backups:  {directory}: {len(backups)} (newest: {newest})")
    return healthy
