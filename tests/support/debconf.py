"""The ublog package's debconf questions inside a testbed.

* :func:`preseed`: answers given with ``debconf-set-selections``, as an
  unattended installation (or a purge) takes them;
* :func:`answers`: what ``debconf-show ublog`` says, question → answer;
* :func:`active_keys`: the ``key = value`` lines ublog.conf sets, per
  section (comments and the commented defaults left out).
"""

from __future__ import annotations

import configparser

from support.site import CONF


def preseed(tb, **answers: tuple[str, str]) -> None:
    """``preseed(tb, host_name=("string", "blog.example.org"))``: each answer
    for the question ``ublog/NAME``."""
    lines = "".join(
        f"ublog ublog/{name} {kind} {value}\n"
        for name, (kind, value) in answers.items()
    )
    tb.run(["debconf-set-selections"], input=lines)


def purge_deletes_data(tb) -> None:
    """Answer yes to ublog/purge_data: the next purge deletes the data."""
    preseed(tb, purge_data=("boolean", "true"))


def answers(tb) -> dict[str, str]:
    """``debconf-show ublog``: {"host_name": "blog.example.org", ...}."""
    shown = {}
    for line in tb.run(["debconf-show", "ublog"]).stdout.splitlines():
        name, _, value = line.lstrip("* ").partition(":")
        shown[name.strip().removeprefix("ublog/")] = value.strip()
    return shown


def active_keys(tb, path: str = CONF) -> dict[str, dict[str, str]]:
    """The values ublog.conf sets, ``{section: {key: value}}``."""
    parser = configparser.ConfigParser(interpolation=None, default_section="\0")
    parser.read_string(tb.run(["cat", path]).stdout)
    return {name: dict(parser.items(name)) for name in parser.sections()}
