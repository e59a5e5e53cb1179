"""Write the installed configuration file once, with a generated secret key.

The file is made from the packaged example (every key documented), with the
secret key and the host names filled in. It is never overwritten: an admin's
edits and the secret survive every upgrade and re-run of ``ublog-ctl setup``.
"""

import grp
import os
import re
import secrets
import socket
import string
import subprocess
import tempfile
from importlib.resources import files
from pathlib import Path

from .errors import AdminError

SECRET_CHARS = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
MODE = 0o640


def generate_secret_key(length: int = 64) -> str:
    return "".join(secrets.choice(SECRET_CHARS) for _ in range(length))


def local_hosts() -> list[str]:
    """Names and addresses this machine answers to, for allowed_hosts."""
    hosts = ["localhost", "127.0.0.1", "[::1]"]
    hosts += [socket.gethostname(), socket.getfqdn()]
    try:
        out = subprocess.run(
            ["hostname", "-I"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        out = ""
    for address in out.split():
        hosts.append(f"[{address}]" if ":" in address else address)
    unique = []
    for host in hosts:
        if host and host not in unique:
            unique.append(host)
    return unique


def unlisted_local_hosts(allowed_hosts: list[str]) -> list[str]:
    """This machine's names and addresses (loopback aside) that
    ``allowed_hosts`` does not allow: what a configuration restored from
    another host answers with 400 Bad Request."""
    if "*" in allowed_hosts:
        return []
    loopback = {"localhost", "127.0.0.1", "[::1]"}
    return [
        host
        for host in local_hosts()
        if host not in loopback
        and not any(
            host == allowed
            or (allowed.startswith(".") and f".{host}".endswith(allowed))
            for allowed in allowed_hosts
        )
    ]


def render(secret_key: str, allowed_hosts: list[str]) -> str:
    """The example configuration with the install-time values set."""
    text = files("ublog_site").joinpath("conf/ublog.conf.example").read_text()
    values = {
        "secret_key": secret_key,
        "allowed_hosts": ", ".join(allowed_hosts),
    }
    for key, value in values.items():
        text, count = re.subn(
            rf"^#{key} =.*$", f"{key} = {value}", text, count=1, flags=re.M
        )
        if count != 1:  # pragma: no cover - guarded by the example's tests
            raise AdminError(f"packaged example configuration lacks {key}")
    header = (
        "# Written by `ublog-ctl setup` on first installation; never\n"
        "# overwritten. The secret key below was generated for this site.\n#\n"
    )
    return header + text


def ensure(path: Path, group: str, allowed_hosts: list[str] | None = None) -> bool:
    """Create ``path`` if missing (mode 0640, root:group); True if created.

    An existing file keeps its content; only its owner and mode are fixed.
    """
    gid = grp.getgrnam(group).gr_gid
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    os.chown(path.parent, 0, gid)
    os.chmod(path.parent, 0o750)
    if path.exists():
        os.chown(path, 0, gid)
        os.chmod(path, MODE)
        return False
    text = render(generate_secret_key(), allowed_hosts or local_hosts())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ublog.conf.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chown(tmp, 0, gid)
        os.chmod(tmp, MODE)
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return True
