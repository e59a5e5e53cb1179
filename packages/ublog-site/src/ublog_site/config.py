"""Load the μblog site configuration: an INI file plus ``UBLOG_*`` overrides.

Where the configuration comes from, first match wins:

1. the file named by the environment variable ``UBLOG_CONFIG`` (it must
   exist),
2. ``/etc/ublog/ublog.conf`` if that file exists (the packaged install),
3. the *embedded default* for development: SQLite and a generated secret key
   under a per-user data directory, e-mail written to files.

Single keys are then overridden by environment variables: ``UBLOG_<KEY>``
for keys of the ``[ublog]`` section, ``UBLOG_<SECTION>_<KEY>`` for the others
(``UBLOG_DEBUG``, ``UBLOG_DATABASE_PORT``, ...).

Every value is parsed to its type here. Any mistake (a bad value, an unknown
section or key, a missing secret key) raises :class:`ConfigError` with one
line naming the file, line, section and key, e.g.::

    ublog: /etc/ublog/ublog.conf:12: [database] port: 'abc' is not an integer

This module does not import Django settings; ``ublog_site.settings`` turns a
:class:`Config` into Django settings.
"""

from __future__ import annotations

import configparser
import contextlib
import difflib
import email.utils
import os
import re
import secrets
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from django.core.exceptions import ImproperlyConfigured

#: The configuration file of a packaged install.
SYSTEM_CONFIG = Path("/etc/ublog/ublog.conf")
#: Environment variable naming a configuration file.
CONFIG_ENV = "UBLOG_CONFIG"
ENV_PREFIX = "UBLOG_"
EMBEDDED = "embedded default"


class ConfigError(ImproperlyConfigured):
    """A configuration mistake; ``str()`` is one line meant for an admin."""


class _Invalid(ValueError):
    """Raised by the value parsers; the loader adds the location."""


# -- value parsers -----------------------------------------------------------
# Each takes the raw string and returns the typed value or raises _Invalid.


def _text(raw: str) -> str:
    return raw.strip()


def _boolean(raw: str) -> bool:
    try:
        return configparser.ConfigParser.BOOLEAN_STATES[raw.strip().lower()]
    except KeyError:
        raise _Invalid(f"{raw!r} is not a boolean (use true or false)") from None


def _optional_boolean(raw: str) -> bool | None:
    """A boolean, or empty for "derived" (None)."""
    return _boolean(raw) if raw.strip() else None


def _integer(minimum: int, maximum: int | None = None, optional: bool = False):
    def parse(raw: str) -> int | None:
        raw = raw.strip()
        if optional and not raw:
            return None
        try:
            value = int(raw, 10)
        except ValueError:
            raise _Invalid(f"{raw!r} is not an integer") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise _Invalid(f"{value} must be at least {minimum}{upper}")
        return value

    return parse


def _choice(*choices: str):
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            names = ", ".join(choice for choice in choices if choice)
            empty = " (or empty)" if "" in choices else ""
            raise _Invalid(f"{raw!r} is not one of {names}{empty}")
        return value

    return parse


def _list(raw: str) -> list[str]:
    return [item for item in re.split(r"[,\s]+", raw) if item]


def _servers(raw: str) -> list[str]:
    """``host:port`` items (host a name, an IPv4 or a [bracketed] IPv6
    address), separated by commas or blanks."""
    servers = []
    for item in _list(raw):
        match = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})", item)
        if not match or not 0 < int(match[2]) < 65536:
            raise _Invalid(f"{item!r} is not host:port")
        servers.append(item)
    return servers


def _host_name(raw: str) -> str:
    """A DNS name (blog.example.org), or empty."""
    name = raw.strip().lower().rstrip(".")
    label = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
    if name and not re.fullmatch(rf"{label}(\.{label})*", name):
        raise _Invalid(f"{raw!r} is not a host name (such as blog.example.org)")
    return name


def _path(raw: str) -> Path | None:
    raw = raw.strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise _Invalid(f"{raw!r} is not an absolute path")
    return path


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rate(raw: str) -> tuple[int, int] | None:
    """``N/PERIOD`` (period s, m, h or d, optionally with a count: 10/5m),
    or ``off``: returns (requests, seconds) or None."""
    value = raw.strip().lower()
    if value in ("off", "0", ""):
        return None
    match = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*([smhd])", value)
    if not match or int(match[1]) < 1:
        raise _Invalid(f"{raw!r} is not a rate such as 10/h, 5/10m or off")
    return int(match[1]), int(match[2] or 1) * _PERIODS[match[3]]


_BINARY = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _bytes(raw: str) -> int | None:
    """A number of bytes with an optional K, M or G suffix (binary multiples:
    100M is 100 MiB), or ``off``: returns the bytes or None."""
    value = raw.strip().lower()
    if value in ("off", "0", ""):
        return None
    match = re.fullmatch(r"(\d+)\s*([kmg]?)i?b?", value)
    if not match:
        raise _Invalid(f"{raw!r} is not a size such as 100M, 512K, 1G or off")
    return int(match[1]) * _BINARY[match[2]]


def _nginx_rate(raw: str) -> str | None:
    """nginx's ``limit_req`` rate, ``Nr/s`` or ``Nr/m``, or ``off`` (None)."""
    value = raw.strip().lower().replace(" ", "")
    if value == "off":
        return None
    match = re.fullmatch(r"(\d+)r/([sm])", value)
    if not match or int(match[1]) < 1:
        raise _Invalid(f"{raw!r} is not a rate such as 10r/s, 600r/m or off")
    return f"{int(match[1])}r/{match[2]}"


def _off_or(parse):
    """``off`` (None), or what ``parse`` accepts."""

    def parse_or_off(raw: str):
        return None if raw.strip().lower() == "off" else parse(raw)

    return parse_or_off


def _duration(minimum: int, maximum: int):
    """Seconds, written ``N`` or ``N`` with a unit: 90, 30s, 5m, 2h, 1d."""

    def parse(raw: str) -> int:
        value = raw.strip().lower()
        match = re.fullmatch(r"(\d+)\s*([smhd]?)", value)
        if not match:
            raise _Invalid(f"{raw!r} is not a duration such as 30s, 5m, 2h or 1d")
        seconds = int(match[1]) * _PERIODS[match[2] or "s"]
        if not minimum <= seconds <= maximum:
            raise _Invalid(f"{raw.strip()} must be between {minimum} s and {maximum} s")
        return seconds

    return parse


def _time_zone(raw: str) -> str:
    name = raw.strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _Invalid(f"{raw!r} is not a known time zone") from None
    return name


def _addresses(raw: str) -> list[str]:
    """A comma separated list of ``Name <user@host>`` or ``user@host``."""
    result = []
    for item in raw.split(","):
        if not item.strip():
            continue
        _name, address = email.utils.parseaddr(item)
        if "@" not in address:
            raise _Invalid(f"{item.strip()!r} is not an e-mail address")
        result.append(item.strip())
    return result


# -- the schema ----------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One known configuration key: how to parse it and its packaged default.

    A default of ``None`` means "unset"; the loader derives some of them
    (``static_root`` from ``data_dir``, ...).
    """

    parse: Callable[[str], object]
    default: object = None
    secret: bool = False


LOCALHOST = ["localhost", "127.0.0.1", "[::1]"]
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"

#: Every section and key, with the defaults of a packaged (Debian) install.
SCHEMA: dict[str, dict[str, Key]] = {
    "ublog": {
        "secret_key": Key(_text, secret=True),
        "secret_key_file": Key(_path),
        "debug": Key(_boolean, False),
        "allowed_hosts": Key(_list, LOCALHOST),
        "host_name": Key(_host_name, ""),
        "https": Key(_optional_boolean),
        "hsts_preload": Key(_boolean, False),
        "data_dir": Key(_path, Path("/var/lib/ublog")),
        "static_root": Key(_path),
        "media_root": Key(_path),
        "time_zone": Key(_time_zone, "UTC"),
        "language_code": Key(_text, "en-us"),
        "admins": Key(_addresses, []),
        "role": Key(_choice("all-in-one", "app", "lb"), "all-in-one"),
    },
    "server": {
        "workers": Key(_integer(0, 256), 0),
        "timeout": Key(_duration(5, 3600), 30),
    },
    "database": {
        "engine": Key(_choice("postgresql", "sqlite"), "postgresql"),
        "name": Key(_text),
        "user": Key(_text, "ublog"),
        "password_file": Key(_path),
        "host": Key(_text, ""),
        "port": Key(_integer(1, 65535, optional=True)),
        "sslmode": Key(
            _choice(
                "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"
            ),
            "",
        ),
        "conn_max_age": Key(_integer(0), 60),
        "connect_wait": Key(_duration(0, 300), 30),
    },
    "email": {
        "backend": Key(_choice("smtp", "console", "file"), "smtp"),
        "host": Key(_text, "localhost"),
        "port": Key(_integer(1, 65535), 25),
        "user": Key(_text, ""),
        "password_file": Key(_path),
        "use_tls": Key(_boolean, False),
        "use_ssl": Key(_boolean, False),
        "timeout": Key(_duration(1, 600), 10),
        "from": Key(_text, "ublog@localhost"),
        "file_path": Key(_path),
        "retry_delay": Key(_duration(1, 86400), 60),
        "max_retry_delay": Key(_duration(1, 7 * 86400), 2 * 3600),
        "max_attempts": Key(_integer(1, 1000), 20),
    },
    "uploads": {
        "max_image_size": Key(_integer(1), 5 * 1024 * 1024),
    },
    "posts": {
        "anonymous_posts": Key(_choice("open", "moderated", "closed"), "open"),
    },
    "accounts": {
        "activation_days": Key(_integer(1), 7),
        "signup_open": Key(_boolean, True),
        # Deprecated aliases of [limits] signup and login (used when only
        # they are set).
        "signup_rate": Key(_rate),
        "login_rate": Key(_rate),
    },
    "limits": {
        "login": Key(_rate, (30, 600)),
        "login_per_user": Key(_rate, (10, 600)),
        "signup": Key(_rate, (10, 3600)),
        "mail_per_recipient": Key(_rate, (3, 3600)),
        "anonymous_post": Key(_rate, (20, 3600)),
        "user_post": Key(_rate, (60, 3600)),
        "image_post": Key(_rate, (20, 3600)),
        "upload_bytes": Key(_bytes, 100 * 1024**2),
        "like": Key(_rate, (300, 3600)),
        "edit": Key(_rate, (60, 3600)),
        "delete": Key(_rate, (60, 3600)),
        "ipv4_prefix": Key(_integer(8, 32), 32),
        "ipv6_prefix": Key(_integer(32, 128), 64),
        "nginx_post_rate": Key(_nginx_rate, "10r/s"),
        "nginx_post_burst": Key(_integer(0), 40),
        "nginx_connections": Key(_off_or(_integer(1)), 64),
    },
    "cache": {
        "backend": Key(_choice("database", "memcached", "redis"), "database"),
        "location": Key(_text, ""),
        "list_seconds": Key(_integer(0), 60),
        "nginx_pages": Key(_boolean, True),
    },
    "cluster": {
        "app_servers": Key(_servers, []),
        "load_balancers": Key(_list, []),
    },
    "tls": {
        "mode": Key(_choice("off", "self-signed", "files", "acme"), "off"),
        "certificate": Key(_path),
        "key": Key(_path),
        "acme_server": Key(_text, LETS_ENCRYPT),
        "acme_email": Key(_text, ""),
    },
    "backup": {
        "dir": Key(_path, Path("/var/backups/ublog")),
        "keep": Key(_integer(1), 5),
    },
}


def env_name(section: str, key: str) -> str:
    """The environment variable overriding ``[section] key``."""
    name = key if section == "ublog" else f"{section}_{key}"
    return ENV_PREFIX + name.upper()


# -- the result --------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A typed value and where it came from (``default``, ``FILE:LINE``...)."""

    value: object
    origin: str


class Config:
    """The effective configuration: ``config["database", "port"]``.

    ``source`` is the configuration file (``None`` for the embedded default).
    The secrets read from files are attributes: ``secret_key``,
    ``database_password``, ``email_password``.
    """

    def __init__(
        self,
        source: Path | None,
        values: dict[tuple[str, str], Value],
        secret_key: str,
        database_password: str,
        email_password: str,
    ):
        self.source = source
        self.values = values
        self.secret_key = secret_key
        self.database_password = database_password
        self.email_password = email_password

    @property
    def source_label(self) -> str:
        if self.source is None:
            return f"{EMBEDDED} (no configuration file)"
        return str(self.source)

    def __getitem__(self, name: tuple[str, str]):
        return self.values[name].value

    def origin(self, section: str, key: str) -> str:
        return self.values[section, key].origin

    def items(self) -> Iterator[tuple[str, str, object, str, bool]]:
        """Yield ``(section, key, value, origin, is_secret)`` in schema order."""
        for section, keys in SCHEMA.items():
            for key, spec in keys.items():
                value = self.values[section, key]
                yield section, key, value.value, value.origin, spec.secret


# -- loading -----------------------------------------------------------------


def _fail(where: str, message: str, section: str = "", key: str = "") -> NoReturn:
    what = f"[{section}] {key}: " if section else ""
    raise ConfigError(f"ublog: {where}: {what}{message}")


_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
_OPTION_RE = re.compile(r"(?P<option>.*?)\s*[=:]")


def _line_numbers(text: str) -> dict[tuple[str, str | None], int]:
    """Map ``(section, None)`` and ``(section, key)`` to their first line.

    configparser does not keep line numbers, so this scans the text the same
    way it does: comment lines start with ``#`` or ``;``, indented lines
    continue the previous value.
    """
    found: dict[tuple[str, str | None], int] = {}
    section = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;" or line[0].isspace():
            continue
        match = _SECTION_RE.match(stripped)
        if match:
            section = match["header"]
            found.setdefault((section, None), number)
            continue
        match = _OPTION_RE.match(stripped)
        if match and section is not None:
            found.setdefault((section, match["option"].strip().lower()), number)
    return found


def _parse_error(path: Path, text: str, exc: configparser.Error) -> NoReturn:
    if isinstance(exc, configparser.MissingSectionHeaderError):
        _fail(f"{path}:{exc.lineno}", "expected a [section] header first")
    if isinstance(exc, configparser.DuplicateSectionError):
        _fail(f"{path}:{exc.lineno}", f"section [{exc.section}] appears twice")
    if isinstance(exc, configparser.DuplicateOptionError):
        _fail(f"{path}:{exc.lineno}", "set twice", exc.section, exc.option)
    if isinstance(exc, configparser.ParsingError) and exc.errors:
        lineno = exc.errors[0][0]
        line = text.splitlines()[lineno - 1].strip()
        _fail(f"{path}:{lineno}", f"cannot parse {line!r}: expected 'key = value'")
    _fail(str(path), str(exc).replace("\n", " "))  # pragma: no cover


def _unknown(name: str, known) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
    return hint


def _read_file(path: Path, values: dict[tuple[str, str], Value]) -> None:
    """Parse the file at ``path`` into ``values`` (typed, with origins)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        _fail(str(path), "is not UTF-8 text")
    except OSError as exc:
        _fail(str(path), f"cannot read configuration file: {exc.strerror}")
    parser = configparser.ConfigParser(
        interpolation=None,
        empty_lines_in_values=False,
        # Make "[DEFAULT]" an ordinary (and so unknown) section instead of a
        # section whose keys silently appear in every other section.
        default_section="\x00",
    )
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        _parse_error(path, text, exc)
    lines = _line_numbers(text)
    for section in parser.sections():
        where = f"{path}:{lines.get((section, None), 0)}"
        if section not in SCHEMA:
            hint = _unknown(section, list(SCHEMA))
            _fail(where, f"unknown section [{section}] ({hint})")
        for key, raw in parser.items(section):
            where = f"{path}:{lines.get((section, key), 0)}"
            if key not in SCHEMA[section]:
                hint = _unknown(key, list(SCHEMA[section]))
                _fail(where, f"unknown key ({hint})", section, key)
            try:
                value = SCHEMA[section][key].parse(raw)
            except _Invalid as exc:
                _fail(where, str(exc), section, key)
            values[section, key] = Value(value, where)


def _read_environ(environ: Mapping[str, str], values) -> None:
    for section, keys in SCHEMA.items():
        for key, spec in keys.items():
            name = env_name(section, key)
            if name not in environ:
                continue
            try:
                value = spec.parse(environ[name])
            except _Invalid as exc:
                _fail(name, str(exc), section, key)
            values[section, key] = Value(value, f"${name}")


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """The data directory of the embedded default (``UBLOG_DATA_DIR`` aside)."""
    xdg = environ.get("XDG_DATA_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "ublog"
    return Path.home() / ".local" / "share" / "ublog"


def _read_secret(path: Path, where: str, section: str, key: str) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        _fail(where, f"cannot read {str(path)!r}: {reason}", section, key)
    if not secret:
        _fail(where, f"{str(path)!r} is empty", section, key)
    return secret


def ensure_secret_key_file(path: Path) -> None:
    """Create ``path`` holding a new random secret key (mode 0600) if missing.

    The key is written to a temporary file and hard-linked into place, so
    concurrent first starts agree on one key and nobody reads half a file.
    """
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process won
            os.link(temporary, path)
    finally:
        temporary.unlink()


def _pick_secret_key(values, source: Path | None) -> str:
    """The secret key from ``secret_key`` or the file ``secret_key_file``."""
    key = values.get(("ublog", "secret_key"))
    key_file = values.get(("ublog", "secret_key_file"))
    key = key if key and key.value else None
    key_file = key_file if key_file and key_file.value else None
    if key and key_file:
        from_env = [v.origin.startswith("$") for v in (key, key_file)]
        if from_env[0] == from_env[1]:
            _fail(
                key_file.origin,
                "set either secret_key or secret_key_file, not both",
                "ublog",
                "secret_key_file",
            )
        # An environment variable beats the file.
        key, key_file = (key, None) if from_env[0] else (None, key_file)
    if key:
        return key.value
    if key_file:
        return _read_secret(key_file.value, key_file.origin, "ublog", "secret_key_file")
    if source is not None:
        _fail(
            str(source),
            "missing: set secret_key (50 or more random characters) or secret_key_file",
            "ublog",
            "secret_key",
        )
    # The embedded default: generate a key once, keep it in the data dir.
    path = values["ublog", "data_dir"].value / "secret_key"
    ensure_secret_key_file(path)
    values["ublog", "secret_key_file"] = Value(path, "default (generated once)")
    return _read_secret(path, str(path), "ublog", "secret_key_file")


def _derive(values) -> None:
    """Fill in defaults that depend on other values (all from ``data_dir``)."""
    data_dir: Path = values["ublog", "data_dir"].value
    if data_dir is None:
        _fail(
            values["ublog", "data_dir"].origin, "must not be empty", "ublog", "data_dir"
        )
    derived = {
        ("ublog", "static_root"): data_dir / "static",
        ("ublog", "media_root"): data_dir / "media",
        ("email", "file_path"): data_dir / "mail",
    }
    if values["database", "engine"].value == "sqlite":
        derived["database", "name"] = data_dir / "db.sqlite3"
    else:
        derived["database", "name"] = "ublog"
    for name, value in derived.items():
        if values.get(name) is None or values[name].value in (None, ""):
            values[name] = Value(value, "default (from data_dir)")
    for old, new in (("signup_rate", "signup"), ("login_rate", "login")):
        alias = values["accounts", old]
        if alias.origin != "default" and values["limits", new].origin == "default":
            values["limits", new] = Value(alias.value, alias.origin)
    backend, location = values["cache", "backend"], values["cache", "location"]
    if backend.value != "database" and not location.value:
        _fail(
            location.origin if location.origin != "default" else backend.origin,
            f"must be set for backend = {backend.value} (host:port, or a "
            "redis:// URL for redis)",
            "cache",
            "location",
        )
    role, servers = values["ublog", "role"], values["cluster", "app_servers"]
    if role.value == "lb" and not servers.value:
        _fail(
            role.origin,
            "role = lb needs [cluster] app_servers (host:port, ...)",
            "cluster",
            "app_servers",
        )
    _derive_tls(values)
    tls, ssl = values["email", "use_tls"], values["email", "use_ssl"]
    if tls.value and ssl.value:
        _fail(
            ssl.origin,
            "use_tls (STARTTLS, port 587) and use_ssl (implicit TLS, port 465) "
            "exclude each other: set one",
            "email",
            "use_ssl",
        )
    name = values["database", "name"].value
    if values["database", "engine"].value == "sqlite" and not Path(name).is_absolute():
        _fail(
            values["database", "name"].origin,
            f"{str(name)!r} is not an absolute path (needed for sqlite)",
            "database",
            "name",
        )


def _derive_tls(values) -> None:
    """``host_name`` joins ``allowed_hosts``; ``https`` defaults to whether
    this host serves TLS; ``files`` needs both paths, ``acme`` a name."""
    host_name = values["ublog", "host_name"].value
    allowed = values["ublog", "allowed_hosts"]
    if host_name and host_name not in allowed.value and "*" not in allowed.value:
        values["ublog", "allowed_hosts"] = Value(
            [host_name, *allowed.value], f"{allowed.origin} + host_name"
        )
    mode = values["tls", "mode"]
    https = values["ublog", "https"]
    if https.value is None:
        values["ublog", "https"] = Value(
            mode.value != "off", "default (from [tls] mode)"
        )
    if mode.value == "files":
        for key in ("certificate", "key"):
            if values["tls", key].value is None:
                _fail(
                    mode.origin,
                    f"mode = files needs [tls] {key} (the path of the PEM file)",
                    "tls",
                    key,
                )
    if mode.value == "acme" and not host_name:
        _fail(
            mode.origin,
            "mode = acme needs [ublog] host_name (the name the certificate is "
            "for, which must point at this host)",
            "ublog",
            "host_name",
        )
    if mode.value != "off" and values["ublog", "role"].value == "app":
        _fail(
            mode.origin,
            "an app host serves plain HTTP to its load balancers: TLS belongs "
            "on the balancer (role = lb); set https = true here instead",
            "tls",
            "mode",
        )


def _read_password(values, section: str) -> str:
    item = values.get((section, "password_file"))
    if item is None or item.value is None:
        return ""
    return _read_secret(item.value, item.origin, section, "password_file")


def find_config_file(
    environ: Mapping[str, str], system_config: Path = SYSTEM_CONFIG
) -> Path | None:
    """The configuration file to use, or ``None`` for the embedded default."""
    named = environ.get(CONFIG_ENV, "")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            _fail(f"{CONFIG_ENV}={named}", "no such configuration file")
        return path
    if system_config.is_file():
        return system_config
    return None


def load_config(
    environ: Mapping[str, str] | None = None, system_config: Path | None = None
) -> Config:
    """Read, type-check and complete the configuration; see the module doc."""
    environ = os.environ if environ is None else environ
    source = find_config_file(environ, system_config or SYSTEM_CONFIG)
    values: dict[tuple[str, str], Value] = {}
    for section, keys in SCHEMA.items():
        for key, spec in keys.items():
            values[section, key] = Value(spec.default, "default")
    if source is None:
        embedded = {
            ("ublog", "debug"): True,
            ("ublog", "data_dir"): default_data_dir(environ),
            ("database", "engine"): "sqlite",
            ("email", "backend"): "file",
        }
        for name, value in embedded.items():
            values[name] = Value(value, EMBEDDED)
    else:
        _read_file(source, values)
    _read_environ(environ, values)
    _derive(values)
    if source is None:
        values["ublog", "data_dir"].value.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret_key = _pick_secret_key(values, source)
    return Config(
        source,
        values,
        secret_key=secret_key,
        database_password=_read_password(values, "database"),
        email_password=_read_password(values, "email"),
    )
