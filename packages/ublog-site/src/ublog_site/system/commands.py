"""Run system commands with clear errors, optionally as another user."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import AdminError

#: Present when systemd is the init system (sd_booted()).
SYSTEMD_DIR = Path("/run/systemd/system")


def systemd_running() -> bool:
    return SYSTEMD_DIR.is_dir()


def require_root(verb: str) -> None:
    if os.geteuid() != 0:
        raise AdminError(
            f"ublog-ctl {verb} must run as root", hint=f"sudo ublog-ctl {verb}"
        )


def have(program: str) -> bool:
    return shutil.which(program) is not None


def run(
    args: list[str],
    *,
    what: str,
    user: str | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    stdout=subprocess.PIPE,
    hint: str = "",
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run ``args`` (as ``user`` if given); raise AdminError on failure.

    The error names ``what`` failed and quotes the command's last line of
    error output, so a maintainer script prints one meaningful line.
    """
    if user is not None and user != _current_user():
        prefix = ["runuser", "-u", user, "--"]
        if env:
            prefix += ["env"] + [f"{k}={v}" for k, v in sorted(env.items())]
        args = prefix + args
        env = None
    full_env = None
    if env:
        # Exactly the given configuration: no UBLOG_* override leaks in.
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("UBLOG_")}
        full_env.update(env)
    try:
        result = subprocess.run(
            args,
            input=input,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd="/",
        )
    except FileNotFoundError as exc:
        raise AdminError(f"{what} failed: {exc.filename} not found", hint) from None
    if check and result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        raise AdminError(f"{what} failed: {reason}", hint)
    return result


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def ctl(
    *args: str,
    config: Path,
    user: str | None = None,
    what: str,
    capture: bool = False,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run ``ublog-ctl ARGS`` (Django management) against ``config``; with
    ``capture``, its standard output is in the result, not on ours."""
    env = {
        "UBLOG_CONFIG": str(config),
        # Already the chosen user: ublog-ctl must not switch again.
        "UBLOG_CTL_USER": "root",
        "DJANGO_SETTINGS_MODULE": "ublog_site.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return run(
        [sys.executable, "-m", "ublog_site.ctl", *args],
        what=what,
        user=user,
        env=env,
        stdout=subprocess.PIPE if capture else None,
        check=check,
    )
