"""``ublog-ctl``: django-admin for the μblog site, with friendly config errors.

``ublog-ctl --help`` (or no verb, or ``help``) lists μblog's own verbs
first (:mod:`ublog_site.ctl_help`); ``help --django`` lists Django's commands.

Every Django management command passes through (``migrate``,
``createsuperuser``, ``collectstatic``, ...); ``check`` alone runs the full
report (``--deploy --database default``). The admin verbs that act on the
system (``setup``, ``unsetup``, ``status``, ``backup``, ``restore``,
``pg-upgrade``, ``checkconfig``, ``role``: :data:`system.cli.VERBS`) live
in :mod:`ublog_site.system` and run without loading Django settings.
"""

import os
import pwd
import sys
from importlib.metadata import version

from ublog_site.config import ConfigError, load_config
from ublog_site.system.cli import VERBS as ADMIN_VERBS

SETTINGS_MODULE = "ublog_site.settings"
#: The system user the packaged service runs as.
SERVICE_USER = "ublog"


def _as_service_user(argv) -> list[str] | None:
    """Root runs Django commands as the service user: the database accepts
    that user over the local socket (peer authentication), and files it
    creates get the right owner. ``UBLOG_CTL_USER=root`` keeps root."""
    if os.geteuid() != 0 or os.environ.get("UBLOG_CTL_USER") == "root":
        return None
    if os.environ.get("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE) != SETTINGS_MODULE:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None
    module = [sys.executable, "-m", "ublog_site.ctl"]
    return ["runuser", "-u", SERVICE_USER, "--", *module, *argv[1:]]


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    if argv[1:] == ["--version"]:
        print(version("ublog-site"))
        return 0
    ours = os.environ.get("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE) == SETTINGS_MODULE
    if ours:  # (with another settings module, ublog-ctl is plain django-admin)
        from ublog_site import ctl_help

        answered = ctl_help.main(argv[1:])
        if answered is not None:
            return answered
        if argv[1:] == ["help", "--django"]:
            argv = argv[:2]  # Django's own list of commands
    if len(argv) > 1 and argv[1] in ADMIN_VERBS:
        from ublog_site.system.cli import main as admin_main

        return admin_main(argv[1:])
    if argv[1:] == ["check"]:
        # The admin's full report: deployment checks and the database too.
        argv += ["--deploy", "--database", "default"]
    switch = _as_service_user(argv)
    if switch:
        os.execvp(switch[0], switch)  # pragma: no cover (tests/install)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    try:
        if os.environ["DJANGO_SETTINGS_MODULE"] == SETTINGS_MODULE:
            load_config()  # fail early, before Django imports the settings
        from django.core.management import execute_from_command_line

        # Django names the program after argv[0]: ctl.py when root's command
        # runs again as the service user (python -m).
        execute_from_command_line(["ublog-ctl", *argv[1:]])
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
