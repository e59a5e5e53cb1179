"""Write the installed configuration file once, with a generated secret key.

The file is made from the packaged example (every key documented), with the
secret key and the host names filled in. It is never overwritten: an admin's
edits and the secret survive every upgrade and re-run of ``ublog-ctl setup``.
"""

import grp
import os
import re
import secrets
import shutil
import socket
import string
import subprocess
import tempfile
from importlib.resources import files
from pathlib import Path

from ..config import CONFIG_ENV, SCHEMA, ConfigError, load_config
from .errors import AdminError

#: Where ``apt purge ublog`` (keeping the data) leaves /etc/ublog's files.
KEPT_DIR_NAME = "purged-etc"
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


# -- ``ublog-ctl setup --set SECTION.KEY=VALUE`` -------------------------------


def parse_assignment(text: str) -> tuple[str, str, str]:
    """``SECTION.KEY=VALUE`` as (section, key, value); an unknown key fails."""
    name, sep, value = text.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot or not section or not key:
        raise AdminError(
            f"--set {text!r}: expected SECTION.KEY=VALUE (e.g. ublog.host_name=...)"
        )
    if section not in SCHEMA:
        raise AdminError(f"--set {text!r}: unknown section [{section}]")
    if key not in SCHEMA[section]:
        raise AdminError(f"--set {text!r}: [{section}] has no key {key}")
    if "\n" in value or "\r" in value:
        raise AdminError(f"--set {name}: the value must be one line")
    return section, key, value.strip()


def _sections(lines: list[str]) -> list[tuple[str, int, int]]:
    """(name, first line after the header, end) of each ``[section]``."""
    found = []
    for number, line in enumerate(lines):
        match = re.match(r"\s*\[([^]]+)\]\s*$", line)
        if match:
            if found:
                found[-1] = (*found[-1][:2], number)
            found.append((match[1].strip(), number + 1, len(lines)))
    return found


def _key_line(lines, start, end, key, commented) -> int | None:
    prefix = r"[#;]" if commented else ""
    pattern = re.compile(rf"{prefix}{re.escape(key)}\s*[=:]", re.IGNORECASE)
    for number in range(start, end):
        if pattern.match(lines[number]):
            return number
    return None


def _current(lines, section, key) -> str | None:
    """The raw value of the active ``key`` line of ``section``, or None."""
    for name, start, end in _sections(lines):
        if name == section:
            number = _key_line(lines, start, end, key, commented=False)
            if number is not None:
                return re.split(r"[=:]", lines[number], maxsplit=1)[1].strip()
    return None


def _unchanged(lines, section, key, value) -> bool:
    """True if setting ``value`` would not change what the file means: the
    same raw value, or no active line and the packaged default."""
    current = _current(lines, section, key)
    if current is not None:
        return current == value
    spec = SCHEMA[section][key]
    try:
        return spec.parse(value) == spec.default
    except ValueError:  # invalid: reported by the validation
        return False


def _assign(lines: list[str], section: str, key: str, value: str) -> None:
    """Set ``key = value`` in ``section``: its active line, else its
    commented example line, else a new line at the end of the section."""
    line = f"{key} = {value}"
    sections = [item for item in _sections(lines) if item[0] == section]
    if not sections:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [f"[{section}]", line]
        return
    for commented in (False, True):
        for _name, start, end in sections:
            number = _key_line(lines, start, end, key, commented)
            if number is not None:
                lines[number] = line
                return
    _name, start, end = sections[-1]
    while end > start and not lines[end - 1].strip():
        end -= 1
    lines.insert(end, line)


def _validate(text: str, path: Path) -> None:
    """Load ``text`` as the configuration ``path`` would be (from a
    temporary copy beside it)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ublog.conf.check.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        load_config({CONFIG_ENV: tmp})
    except ConfigError as exc:
        message = str(exc).replace(tmp, str(path))
        raise AdminError(f"{message}; {path} left unchanged") from None
    finally:
        os.unlink(tmp)


def set_values(path: Path, assignments: list[str]) -> list[str]:
    """Apply ``SECTION.KEY=VALUE`` assignments to the file at ``path`` in
    place (comments and layout kept); return a line per change.

    The result is validated before it replaces the file (atomically, with
    the same owner and mode): on any error the file is left untouched.
    """
    parsed = [parse_assignment(item) for item in assignments]
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    changes = []
    for section, key, value in parsed:
        if _unchanged(lines, section, key, value):
            continue
        _assign(lines, section, key, value)
        line = f"{key} = {value}" if value else f"{key} ="
        changes.append(f"set [{section}] {line} in {path}")
    if not changes:
        return []
    new_text = "\n".join(lines) + "\n"
    _validate(new_text, path)
    _replace(path, new_text)
    return changes


def _replace(path: Path, text: str) -> None:
    info = path.stat()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ublog.conf.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chown(tmp, info.st_uid, info.st_gid)
        os.chmod(tmp, info.st_mode & 0o7777)
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# -- after a purge that kept the data -----------------------------------------


def restore_kept(path: Path, kept: Path) -> list[Path]:
    """Bring back the configuration a purge kept in ``kept`` (the files of
    ``path``'s directory: its secret key and database settings find the kept
    data again), if ``path`` is missing. Files present are not replaced.
    Return the files restored; ``kept`` is removed once used."""
    if path.exists() or not (kept / path.name).is_file():
        return []
    restored = []
    for item in sorted(kept.rglob("*")):
        target = path.parent / item.relative_to(kept)
        if item.is_dir():
            target.mkdir(mode=0o750, parents=True, exist_ok=True)
        elif not target.exists():
            target.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
            shutil.copy2(item, target)
            stat = item.stat()
            os.chown(target, stat.st_uid, stat.st_gid)
            restored.append(target)
    shutil.rmtree(kept)
    return restored
