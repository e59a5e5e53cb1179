"""Running commands and saying what happens.

Progress goes to stderr as ``STEP: message`` lines (the Python logging of
the ``ublog_build`` logger); stdout is kept for results, such as the path of
what a command built. A command that fails raises :class:`CommandFailed`
with the end of its output, so the error says why in one place.
"""

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import CommandFailed, MissingTool, NeedsRoot

_LOGGER = logging.getLogger("ublog_build")

#: How many lines of a failed command's output an error shows.
TAIL = 40


class _Stderr(logging.StreamHandler):
    """A handler writing to the current ``sys.stderr`` (pytest swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


class _Format(logging.Formatter):
    def format(self, record):
        step = record.name.removeprefix("ublog_build.")
        return f"{step}: {record.getMessage()}"


def logger(step: str) -> logging.Logger:
    """The logger of one step: its lines start with ``step:``."""
    if not _LOGGER.handlers:
        handler = _Stderr()
        handler.setFormatter(_Format())
        _LOGGER.addHandler(handler)
        _LOGGER.setLevel(logging.INFO)
        _LOGGER.propagate = False
    return _LOGGER.getChild(step)


def environ(**changes: str | None) -> dict[str, str]:
    """This process's environment with ``changes`` (None removes a name)."""
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(
    argv: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    what: str = "",
) -> None:
    """Run ``argv``; its output goes to stderr, or to the file ``log``.

    Raises :class:`CommandFailed` (with the log's last lines) on a non-zero
    exit.
    """
    argv = [str(a) for a in argv]
    what = what or Path(argv[0]).name
    if log is None:
        result = subprocess.run(argv, cwd=cwd, env=env, stdout=_stderr_fd())
        details = ""
    else:
        with open(log, "wb") as out:
            result = subprocess.run(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        details = tail(log) if result.returncode else ""
    if result.returncode:
        hint = f"log: {log}" if log else ""
        raise CommandFailed(
            f"{what} failed (exit status {result.returncode})", hint, details
        )


def output(
    argv: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    what: str = "",
) -> str:
    """Run ``argv`` and return its stdout (text); stderr is kept for errors."""
    argv = [str(a) for a in argv]
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise CommandFailed(
            f"{what or Path(argv[0]).name} failed (exit status {result.returncode})",
            details="\n".join(result.stderr.splitlines()[-TAIL:]),
        )
    return result.stdout


def _stderr_fd() -> int:
    try:
        sys.stderr.flush()
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return 2


def tail(path: Path, lines: int = TAIL) -> str:
    text = path.read_text(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def require_tools(*tools: str) -> None:
    """Fail with :class:`MissingTool` unless every tool is on PATH."""
    for tool in tools:
        if shutil.which(tool) is None:
            raise MissingTool(tool)


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        raise NeedsRoot(why)


def size(path: Path) -> str:
    """``du -h``'s figure: 52M."""
    return output(["du", "-sh", path]).split()[0]
