"""``ublog-ctl --help`` and ``ublog-ctl help [VERB]``: μblog's own verbs
first, one line each (``man ublog-ctl`` documents every one of them).

Two kinds of verbs: the admin verbs that act on the system
(:mod:`ublog_site.system.cli`, their lines are that parser's own help) and
the site's Django management commands an admin uses (:data:`SITE_COMMANDS`).
Neither listing loads Django's settings, so it works with a broken
configuration. Every other Django command still passes through;
``ublog-ctl help --django`` lists them (that one needs the configuration).
"""

from __future__ import annotations

import argparse

#: The site's Django commands an admin uses, each with one line (at most
#: :data:`SUMMARY` characters, so that ``--help`` fits 80 columns).
SITE_COMMANDS = (
    ("check", "Django's checks, the deployment's and the database's"),
    ("preparedb", "migrate and create the cache table (one host at a time)"),
    ("outbox", "the mail queue; --flush, --retry-failed, --summary"),
    ("sendtestemail", "send a test mail through the mail server, now"),
    ("delivermail", "deliver the queued mail (--loop: for ever)"),
    ("cleanup", "delete expired sign-ups, sessions and counters"),
    ("createsuperuser", "create an administrator account"),
    ("showconfig", "every configuration value and where it comes from"),
)
#: The longest one-line help of a verb.
SUMMARY = 60


def admin_verbs(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """The admin verbs of ``parser`` (the subcommands) and their help."""
    for action in parser._subparsers._group_actions:  # argparse keeps them here
        return [(a.dest, a.help or "") for a in action._choices_actions]
    return []


def verbs(parser: argparse.ArgumentParser) -> list[str]:
    """Every verb ``--help`` names (what bash completes)."""
    return [name for name, _ in admin_verbs(parser)] + [
        name for name, _ in SITE_COMMANDS
    ]


def overview(parser: argparse.ArgumentParser) -> str:
    """The text of ``ublog-ctl --help``."""
    width = max(len(name) for name in verbs(parser)) + 2
    lines = [
        "usage: ublog-ctl VERB [OPTIONS]",
        "       ublog-ctl help VERB",
        "",
        "Administer the installed μblog site (man ublog-ctl). It reads",
        "/etc/ublog/ublog.conf, or the file UBLOG_CONFIG names.",
        "",
        "The system:",
    ]
    lines += [f"  {name:<{width}}{text}" for name, text in admin_verbs(parser)]
    lines += ["", "The site (Django management commands):"]
    lines += [f"  {name:<{width}}{text}" for name, text in SITE_COMMANDS]
    lines += [
        "",
        "Every other Django management command of the site passes through",
        "(ublog-ctl help --django lists them).",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int | None:
    """Answer ``argv`` (ublog-ctl's arguments) when it asks for help:
    ``--help``, ``-h``, ``help``, no verb at all, ``help --verbs`` (one per
    line, for completion) or ``help VERB`` of an admin verb. None when
    Django answers instead (``help --django``, ``help`` of a Django
    command)."""
    from .system.cli import parser

    top = parser()
    if argv in ([], ["--help"], ["-h"], ["help"]):
        print(overview(top))
        return 0
    if argv == ["help", "--verbs"]:
        print("\n".join(verbs(top)))
        return 0
    if len(argv) == 2 and argv[0] == "help" and argv[1] in dict(admin_verbs(top)):
        try:
            top.parse_args([argv[1], "--help"])
        except SystemExit as exc:  # argparse prints the help, then exits
            return exc.code or 0
    return None
