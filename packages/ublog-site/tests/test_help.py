"""``ublog-ctl --help``, ``ublog-ctl help VERB`` and the bash completion."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import get_commands

from ublog_site import ctl_help
from ublog_site.system.cli import VERBS, parser

#: The completion the packages install (packaging/shared, beside the man page).
COMPLETION = (
    Path(__file__).resolve().parents[3] / "packaging/shared/ublog-ctl.bash-completion"
)


def ctl(ublog_ctl, *args, config="/nonexistent/ublog.conf"):
    """ublog-ctl with a configuration that does not exist: help needs none."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("UBLOG_")}
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    environ["UBLOG_CONFIG"] = config
    return subprocess.run(
        [ublog_ctl, *args], env=environ, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("args", [(), ("--help",), ("-h",), ("help",)])
def test_help_lists_our_verbs_first_one_line_each(ublog_ctl, args):
    result = ctl(ublog_ctl, *args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "usage: ublog-ctl VERB [OPTIONS]"
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    listed = [m[1] for line in lines if (m := re.match(r"  (\S+)", line))]
    assert listed == ctl_help.verbs(parser())
    assert set(VERBS) <= set(listed)
    # Django's own list is not what an admin sees first.
    assert "Type 'ctl.py help <subcommand>'" not in result.stdout


def test_help_verbs_is_what_bash_completes(ublog_ctl):
    result = ctl(ublog_ctl, "help", "--verbs")
    assert result.returncode == 0
    assert result.stdout.split() == ctl_help.verbs(parser())


def test_help_of_an_admin_verb_is_its_usage(ublog_ctl):
    result = ctl(ublog_ctl, "help", "pg-upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ublog-ctl pg-upgrade [-h] [--cleanup]")
    assert "--cleanup" in result.stdout


def test_help_of_a_site_command_is_django_s(ublog_ctl, tmp_path):
    config = tmp_path / "ublog.conf"
    config.write_text(
        f"[ublog]\nsecret_key = {'h' * 60}\ndata_dir = {tmp_path}\n"
        "[database]\nengine = sqlite\n"
    )
    result = ctl(ublog_ctl, "help", "outbox", config=str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ublog-ctl outbox"), result.stdout
    assert "--retry-failed" in result.stdout
    every = ctl(ublog_ctl, "help", "--django", config=str(config))
    assert "[ublog_site]" in every.stdout and "[auth]" in every.stdout


def test_every_site_command_listed_exists():
    commands = get_commands()
    assert [name for name, _ in ctl_help.SITE_COMMANDS if name not in commands] == []
    assert all(len(text) <= ctl_help.SUMMARY for _, text in ctl_help.SITE_COMMANDS)
    assert all(
        len(text) <= ctl_help.SUMMARY for _, text in ctl_help.admin_verbs(parser())
    )


@pytest.mark.parametrize(
    "words, expected",
    [
        (["ublog-ctl", "pg"], ["pg-upgrade"]),
        (["ublog-ctl", "se"], ["setup", "sendtestemail"]),
        (["ublog-ctl", "help", "ba"], ["backup"]),
    ],
)
def test_bash_completes_the_verbs(ublog_ctl, words, expected):
    script = (
        f"source {COMPLETION}; COMP_WORDS=({' '.join(words)}); "
        f"COMP_CWORD={len(words) - 1}; _ublog_ctl; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    environ = dict(os.environ, PATH=f"{Path(ublog_ctl).parent}:{os.environ['PATH']}")
    environ["UBLOG_CONFIG"] = "/nonexistent/ublog.conf"
    out = subprocess.run(
        ["bash", "-c", script], env=environ, capture_output=True, text=True, check=True
    ).stdout
    assert sorted(out.split()) == sorted(expected)


def documented_verbs(man_page: Path) -> set[str]:
    """The verbs the man page's VERBS section describes: the words of each
    .TP's term outside quotes that are not options (``.BR pg\\-upgrade "
    [" \\-\\-cleanup ]`` names pg-upgrade)."""
    text = man_page.read_text().replace("\\-", "-")
    section = text.split(".SH VERBS", 1)[1].split("\n.SH ", 1)[0]
    found = set()
    for term in section.split(".TP\n")[1:]:
        words = re.sub(r'"[^"]*"', " ", term.splitlines()[0]).split()[1:]
        found.update(w for w in words if re.fullmatch(r"[a-z][a-z-]*", w))
    return found


def test_the_man_page_describes_every_verb():
    man_page = COMPLETION.with_name("ublog-ctl.8")
    ours, documented = set(ctl_help.verbs(parser())), documented_verbs(man_page)
    assert ours - documented == set(), f"{man_page} lacks {sorted(ours - documented)}"
    # Beyond them: help itself and Django's migrate (an example of the rest).
    assert documented - ours == {"help", "migrate"}
