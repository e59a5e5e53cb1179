"""Argument parsing for the admin verbs of ``ublog-ctl`` (see __init__)."""

import argparse
import os
import sys
from importlib.metadata import version
from pathlib import Path

from ..config import SYSTEM_CONFIG, ConfigError, load_config
from . import backup, configfile, lb_check, pg_upgrade
from .commands import require_root
from .errors import AdminError
from .nginx import Nginx
from .setup import Options, load, setup, unsetup
from .status import status

VERBS = (
    "setup",
    "unsetup",
    "status",
    "backup",
    "restore",
    "pg-upgrade",
    "checkconfig",
    "role",
    "lb-check",
)


def _config_path() -> Path:
    return Path(os.environ.get("UBLOG_CONFIG") or SYSTEM_CONFIG)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ublog-ctl", description=__doc__)
    verbs = top.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("setup", help="create or update the installed site")
    p.add_argument("--previous-version", default="", help="upgrading from")
    p.add_argument("--maintainer-script", action="store_true")
    p.add_argument("--user", default="ublog")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="set a key in ublog.conf first (comments kept; repeatable)",
    )
    p = verbs.add_parser("unsetup", help="disable the nginx site (keeps data)")
    p.add_argument("--maintainer-script", action="store_true")
    verbs.add_parser("status", help="show what runs and where the data is")
    p = verbs.add_parser("backup", help="back up the database and the media")
    p.add_argument("--list", action="store_true", help="list the backups")
    p.add_argument(
        "--to",
        metavar="DIR",
        type=Path,
        help="also copy it into DIR (an off-host mount), checked",
    )
    p = verbs.add_parser("restore", help="restore a backup made by `backup`")
    p.add_argument("backup", help="a .dump file, or its name in [backup] dir")
    p = verbs.add_parser(
        "pg-upgrade",
        help="move the database to the newest installed PostgreSQL",
    )
    p.add_argument(
        "--cleanup",
        action="store_true",
        help="drop the old clusters once the site runs on the newest one",
    )
    verbs.add_parser("checkconfig", help="validate the configuration only")
    p = verbs.add_parser("role", help="print this host's role ([ublog] role)")
    p.add_argument(
        "--runs-app",
        action="store_true",
        help="exit 1 unless this host runs the application (not role = lb)",
    )
    p.add_argument(
        "--balances",
        action="store_true",
        help="exit 1 unless this host is a load balancer (role = lb)",
    )
    p = verbs.add_parser(
        "lb-check", help="take app hosts whose /healthz fails out of the balancer"
    )
    p.add_argument(
        "--loop", action="store_true", help="every 5 s (ublog-lb-check.service)"
    )
    for choice in verbs._choices_actions:  # `help VERB` starts with its line
        verbs.choices[choice.dest].description = choice.help
    return top


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    path = _config_path()
    say = print
    if args.verb == "setup":
        setup(
            Options(
                config_path=path,
                user=args.user,
                previous_version=args.previous_version,
                maintainer_script=args.maintainer_script,
                settings=args.set,
            )
        )
        say("ublog-ctl setup: done")
        return 0
    if args.verb == "unsetup":
        unsetup(Options(config_path=path, maintainer_script=args.maintainer_script))
        return 0
    if args.verb == "checkconfig":
        config = load_config()
        say(f"configuration ok: {config.source_label}")
        return 0
    config = load(path)
    if args.verb == "role":
        role = config["ublog", "role"]
        say(role)
        if args.balances:
            return 0 if role == "lb" else 1
        return 1 if args.runs_app and role == "lb" else 0
    if args.verb == "status":
        return 0 if status(config) else 3
    require_root(args.verb)
    if args.verb == "lb-check":
        if config["ublog", "role"] != "lb":
            raise AdminError("this host is not a load balancer ([ublog] role = lb)")
        if args.loop:
            lb_check.loop(path, Nginx(), lambda line: print(line, flush=True))
        lb_check.check_once(config, Nginx(), say)
        return 0
    if args.verb == "backup":
        if args.list:
            for item in backup.list_backups(config["backup", "dir"]):
                say(f"{item.dump}\t{item.dump.stat().st_size}")
            return 0
        if args.to is not None and not args.to.is_dir():
            raise AdminError(f"{args.to} is not a directory", "mount or create it")
        made = backup.create(config, version("ublog-site"))
        say(f"backup written: {made.dump} and {made.media.name}")
        if args.to is not None:
            copied = backup.copy_to(made, args.to)
            say(f"copied to {copied.dump.parent}, checksums verified")
        return 0
    if args.verb == "pg-upgrade":
        if args.cleanup:
            pg_upgrade.cleanup(config, say)
            return 0

        def backup_first():
            made = backup.create(config, version("ublog-site"))
            say(f"backup written: {made.dump} and {made.media.name}")

        pg_upgrade.upgrade(config, backup_first, say)
        return 0
    found = backup.find(config, args.backup)
    if backup.restore(config, found):
        say(
            f"restored {found.stem}, its ublog.conf included (the one it replaced "
            f"is {config.source}.pre-restore); apply it: ublog-ctl setup && "
            "systemctl restart ublog"
        )
        restored = load_config({"UBLOG_CONFIG": str(config.source)})
        unlisted = configfile.unlisted_local_hosts(restored["ublog", "allowed_hosts"])
        if unlisted:
            say(
                "note: the restored [ublog] allowed_hosts does not name this host "
                f"({', '.join(unlisted)}): visitors who reach the site by those get "
                "400 Bad Request; point the site's name at this host, or add them"
            )
    else:
        say(f"restored {found.stem}; restart the service: systemctl restart ublog")
    return 0


def main(argv: list[str]) -> int:
    try:
        return run(argv)
    except (AdminError, ConfigError) as exc:
        print(f"ublog-ctl {argv[0]}: {exc}", file=sys.stderr)
        # `role` is ublog.service's ExecCondition, where 1-254 mean "skip
        # this unit" and 255 "fail": a broken configuration must fail it.
        return 255 if argv[:1] == ["role"] else 2
