"""Tests of ublog_site.config: sources, typed values, errors, env overrides."""

import os
import re
import stat
from importlib.resources import files
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ublog_site import config
from ublog_site.config import SCHEMA, ConfigError, env_name, load_config

SECRET = "s" * 20 + "e" * 20 + "cret-key-0123456789"


@pytest.fixture
def no_system(tmp_path):
    """A system config path that does not exist."""
    return tmp_path / "etc" / "ublog.conf"


@pytest.fixture
def load(write_config, no_system):
    """Load ``text`` as the configuration file, with extra environment."""

    def load_text(text, **env):
        path = write_config(text)
        environ = {"UBLOG_CONFIG": str(path), **env}
        return load_config(environ, system_config=no_system)

    return load_text


def error_of(load, text, **env):
    with pytest.raises(ConfigError) as info:
        load(text, **env)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- a complete file ---------------------------------------------------------

FULL = f"""\
# a comment
[ublog]
secret_key = {SECRET}
debug = yes
allowed_hosts = blog.example.org, .example.net
    www.example.org
https = on
data_dir = /srv/ublog
time_zone = Europe/Berlin
language_code = de
admins = Jane Doe <jane@example.org>, ops@example.org

; another comment
[database]
engine = PostgreSQL
name = blog
user = blogger
host = db.example.org
port = 5433
sslmode = require
conn_max_age = 60

[email]
backend = console
host = mail.example.org
port = 587
user = mailer
use_tls = true
from = blog@example.org

[uploads]
max_image_size = 1000

[accounts]
activation_days = 2
signup_open = false
"""


def test_full_file_typed_values(load, write_config):
    conf = load(FULL)
    assert conf.secret_key == SECRET
    assert conf["ublog", "debug"] is True
    assert conf["ublog", "allowed_hosts"] == [
        "blog.example.org",
        ".example.net",
        "www.example.org",
    ]
    assert conf["ublog", "https"] is True
    assert conf["ublog", "data_dir"] == Path("/srv/ublog")
    assert conf["ublog", "static_root"] == Path("/srv/ublog/static")
    assert conf["ublog", "media_root"] == Path("/srv/ublog/media")
    assert conf["ublog", "time_zone"] == "Europe/Berlin"
    assert conf["ublog", "admins"] == [
        "Jane Doe <jane@example.org>",
        "ops@example.org",
    ]
    assert conf["database", "engine"] == "postgresql"
    assert conf["database", "name"] == "blog"
    assert conf["database", "port"] == 5433
    assert conf["database", "conn_max_age"] == 60
    assert conf["email", "port"] == 587
    assert conf["email", "use_tls"] is True
    assert conf["email", "file_path"] == Path("/srv/ublog/mail")
    assert conf["uploads", "max_image_size"] == 1000
    assert conf["accounts", "activation_days"] == 2
    assert conf["accounts", "signup_open"] is False
    assert conf.database_password == ""
    assert conf.email_password == ""
    assert conf.source.name == "ublog.conf"
    assert conf.source_label == str(conf.source)


def test_origins_name_file_and_line(load):
    conf = load(FULL, UBLOG_DEBUG="false")
    source = str(conf.source)
    assert conf.origin("ublog", "secret_key") == f"{source}:3"
    assert conf.origin("ublog", "allowed_hosts") == f"{source}:5"
    assert conf.origin("database", "port") == f"{source}:19"
    assert conf.origin("accounts", "signup_open") == f"{source}:36"
    assert conf.origin("ublog", "debug") == "$UBLOG_DEBUG"
    assert conf.origin("ublog", "hsts_preload") == "default"
    rows = list(conf.items())
    assert len(rows) == sum(len(keys) for keys in SCHEMA.values())
    assert ("ublog", "secret_key", SECRET, f"{source}:3", True) in rows


def test_packaged_defaults(load):
    conf = load(f"[ublog]\nsecret_key = {SECRET}\n")
    assert conf["ublog", "debug"] is False
    assert conf["ublog", "https"] is False
    assert conf["ublog", "allowed_hosts"] == ["localhost", "127.0.0.1", "[::1]"]
    assert conf["ublog", "data_dir"] == Path("/var/lib/ublog")
    assert conf["ublog", "static_root"] == Path("/var/lib/ublog/static")
    assert conf["ublog", "media_root"] == Path("/var/lib/ublog/media")
    assert conf["database", "engine"] == "postgresql"
    assert conf["database", "name"] == "ublog"
    assert conf["database", "user"] == "ublog"
    assert conf["database", "host"] == ""
    assert conf["database", "port"] is None
    assert conf["email", "backend"] == "smtp"
    assert conf["email", "host"] == "localhost"
    assert conf["email", "port"] == 25
    assert conf["uploads", "max_image_size"] == 5 * 1024 * 1024
    assert conf["accounts", "activation_days"] == 7
    assert conf["accounts", "signup_open"] is True


def test_sqlite_database_defaults_to_data_dir(load):
    conf = load(
        f"[ublog]\nsecret_key={SECRET}\ndata_dir=/d\n[database]\nengine=sqlite\n"
    )
    assert conf["database", "name"] == Path("/d/db.sqlite3")


def test_interpolation_is_off(load):
    conf = load("[ublog]\nsecret_key = 100%-random-%(x)s-key\n")
    assert conf.secret_key == "100%-random-%(x)s-key"


# -- one-line errors with file, line, section and key -----------------------


def test_bad_integer(load):
    message = error_of(
        load, f"[ublog]\nsecret_key={SECRET}\n\n[database]\nport = abc\n"
    )
    assert re.fullmatch(
        r"ublog: /\S+/ublog\.conf:5: \[database\] port: 'abc' is not an integer",
        message,
    )


def test_bad_integer_line_number_after_continuation_and_comments(load):
    text = (
        "[ublog]\n"
        f"secret_key = {SECRET}\n"
        "allowed_hosts = a,\n"
        "  b\n"
        "# port = 1\n"
        "[email]\n"
        "; port = 2\n"
        "port = 12x\n"
    )
    message = error_of(load, text)
    assert message.endswith(".conf:8: [email] port: '12x' is not an integer")


def test_durations_and_the_mail_retry_schedule(load):
    conf = load(
        f"[ublog]\nsecret_key = {SECRET}\n[email]\nretry_delay = 90\n"
        "max_retry_delay = 3h\nmax_attempts = 5\ntimeout = 30s\n"
    )
    assert conf["email", "retry_delay"] == 90
    assert conf["email", "max_retry_delay"] == 3 * 3600
    assert conf["email", "max_attempts"] == 5
    assert conf["email", "timeout"] == 30
    for raw, problem in (
        ("soon", "'soon' is not a duration such as 30s, 5m, 2h or 1d"),
        ("-5m", "'-5m' is not a duration"),
        ("2w", "'2w' is not a duration"),
        ("0", "0 must be between 1 s and 86400 s"),
        ("2d", "2d must be between 1 s and 86400 s"),
    ):
        message = error_of(load, f"[email]\nretry_delay = {raw}\n")
        assert f":2: [email] retry_delay: {problem}" in message, message


def test_starttls_and_implicit_tls_exclude_each_other(load):
    message = error_of(load, "[email]\nuse_tls = true\nuse_ssl = true\n")
    assert message.endswith(
        ":3: [email] use_ssl: use_tls (STARTTLS, port 587) and use_ssl (implicit "
        "TLS, port 465) exclude each other: set one"
    )


def test_integer_out_of_range(load):
    message = error_of(load, "[database]\nport = 70000\n")
    assert message.endswith(
        ":2: [database] port: 70000 must be at least 1 and at most 65535"
    )
    message = error_of(load, "[accounts]\nactivation_days = 0\n")
    assert message.endswith(":2: [accounts] activation_days: 0 must be at least 1")


def test_bad_boolean(load):
    message = error_of(load, "[ublog]\nsecret_key = x\ndebug = maybe\n")
    assert message.endswith(
        ".conf:3: [ublog] debug: 'maybe' is not a boolean (use true or false)"
    )


def test_bad_choice_with_empty_allowed(load):
    message = error_of(load, "[database]\nsslmode = always\n")
    assert message.endswith(
        ":2: [database] sslmode: 'always' is not one of disable, allow, prefer, "
        "require, verify-ca, verify-full (or empty)"
    )


def test_bad_choice(load):
    message = error_of(load, "[database]\nengine = mysql\n")
    assert message.endswith(
        ":2: [database] engine: 'mysql' is not one of postgresql, sqlite"
    )


def test_unknown_key_suggests_the_right_one(load):
    message = error_of(load, "[ublog]\nsecret_key = x\n\ndebgu = true\n")
    assert message.endswith(
        ".conf:4: [ublog] debgu: unknown key (did you mean 'debug'?)"
    )


def test_unknown_key_lists_known_keys(load):
    message = error_of(load, "[accounts]\nzzz = 1\n")
    assert message.endswith(
        ":2: [accounts] zzz: unknown key (known: activation_days, signup_open, "
        "signup_rate, login_rate)"
    )


def test_unknown_section(load):
    message = error_of(load, "[ublog]\nsecret_key = x\n[databse]\nname = x\n")
    assert message.endswith(
        ".conf:3: unknown section [databse] (did you mean 'database'?)"
    )


def test_default_section_is_not_special(load):
    message = error_of(load, "[DEFAULT]\ndebug = true\n")
    assert message.endswith(
        ".conf:1: unknown section [DEFAULT] (known: ublog, "
        "server, database, email, uploads, posts, accounts, limits, cache, "
        "cluster, tls, backup)"
    )


def test_missing_secret_key(load):
    message = error_of(load, "[ublog]\ndebug = false\n")
    assert re.fullmatch(
        r"ublog: \S+\.conf: \[ublog\] secret_key: missing: set secret_key "
        r"\(50 or more random characters\) or secret_key_file",
        message,
    )
    assert error_of(load, "[ublog]\nsecret_key =\n") == message


def test_missing_config_file_named_by_env(no_system, tmp_path):
    missing = tmp_path / "nope.conf"
    with pytest.raises(ConfigError) as info:
        load_config({"UBLOG_CONFIG": str(missing)}, system_config=no_system)
    assert str(info.value) == (
        f"ublog: UBLOG_CONFIG={missing}: no such configuration file"
    )
    assert isinstance(info.value, ImproperlyConfigured)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("debug = true\n", ".conf:1: expected a [section] header first"),
        ("[ublog]\n[email]\n[ublog]\n", ".conf:3: section [ublog] appears twice"),
        ("[ublog]\ndebug = 1\ndebug = 0\n", ".conf:3: [ublog] debug: set twice"),
        ("[ublog]\nsecret_key = x\njust words\n", ".conf:3: cannot parse 'just words'"),
    ],
)
def test_syntax_errors(load, text, expected):
    message = error_of(load, text)
    assert expected in message


def test_not_utf8(write_config, no_system):
    path = write_config("")
    path.write_bytes(b"[ublog]\nsecret_key = \xff\n")
    with pytest.raises(ConfigError, match=r"^ublog: \S+: is not UTF-8 text$"):
        load_config({"UBLOG_CONFIG": str(path)}, system_config=no_system)


def test_unreadable_file(load, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", refuse)
    message = error_of(load, "[ublog]\n")
    assert message.endswith(".conf: cannot read configuration file: Permission denied")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "[ublog]\ndata_dir = var/ublog",
            "[ublog] data_dir: 'var/ublog' is not an absolute path",
        ),
        ("[ublog]\ndata_dir =", "[ublog] data_dir: must not be empty"),
        (
            "[ublog]\ntime_zone = Mars/Olympus",
            "[ublog] time_zone: 'Mars/Olympus' is not a known time zone",
        ),
        ("[ublog]\nadmins = jane", "[ublog] admins: 'jane' is not an e-mail address"),
        (
            "[database]\nengine = sqlite\nname = db.sqlite3",
            "[database] name: 'db.sqlite3' is not an absolute path (needed for sqlite)",
        ),
    ],
)
def test_value_errors(load, line, expected):
    message = error_of(load, f"{line}\n[accounts]\n", UBLOG_SECRET_KEY=SECRET)
    assert message.endswith(expected)


def test_admins_ignores_empty_items(load):
    conf = load(f"[ublog]\nsecret_key={SECRET}\nadmins = a@example.org, ,\n")
    assert conf["ublog", "admins"] == ["a@example.org"]


# -- secrets in files ----------------------------------------------------------


def test_secret_key_and_passwords_from_files(load, tmp_path):
    (tmp_path / "key").write_text(SECRET + "\n")
    (tmp_path / "db").write_text("db-pass\n")
    (tmp_path / "mail").write_text("mail-pass")
    conf = load(
        f"[ublog]\nsecret_key_file = {tmp_path / 'key'}\n"
        f"[database]\npassword_file = {tmp_path / 'db'}\n"
        f"[email]\npassword_file = {tmp_path / 'mail'}\n"
    )
    assert conf.secret_key == SECRET
    assert conf.database_password == "db-pass"
    assert conf.email_password == "mail-pass"


def test_secret_file_missing_or_empty(load, tmp_path):
    missing = tmp_path / "missing"
    message = error_of(load, f"[ublog]\nsecret_key_file = {missing}\n")
    assert message.endswith(
        f".conf:2: [ublog] secret_key_file: cannot read '{missing}': "
        "No such file or directory"
    )
    (tmp_path / "empty").write_text("\n")
    message = error_of(
        load,
        f"[database]\npassword_file = {tmp_path / 'empty'}\n",
        UBLOG_SECRET_KEY=SECRET,
    )
    assert message.endswith(
        f":2: [database] password_file: '{tmp_path / 'empty'}' is empty"
    )
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    message = error_of(load, f"[ublog]\nsecret_key_file = {tmp_path / 'binary'}\n")
    assert message.endswith(
        f"[ublog] secret_key_file: cannot read '{tmp_path / 'binary'}': not UTF-8 text"
    )


def test_secret_key_and_file_both_set(load, tmp_path):
    (tmp_path / "key").write_text("from-file")
    text = f"[ublog]\nsecret_key = inline\nsecret_key_file = {tmp_path / 'key'}\n"
    message = error_of(load, text)
    assert message.endswith(
        ".conf:3: [ublog] secret_key_file: set either secret_key or "
        "secret_key_file, not both"
    )
    # An environment variable beats the file, whichever of the two it sets.
    assert (
        load(
            "[ublog]\nsecret_key = inline\n",
            UBLOG_SECRET_KEY_FILE=str(tmp_path / "key"),
        ).secret_key
        == "from-file"
    )
    assert (
        load(
            f"[ublog]\nsecret_key_file = {tmp_path / 'key'}\n", UBLOG_SECRET_KEY="env"
        ).secret_key
        == "env"
    )


# -- environment overrides --------------------------------------------------------


def test_env_names():
    names = [env_name(s, k) for s, keys in SCHEMA.items() for k in keys]
    assert len(names) == len(set(names))
    assert env_name("ublog", "secret_key") == "UBLOG_SECRET_KEY"
    assert env_name("ublog", "allowed_hosts") == "UBLOG_ALLOWED_HOSTS"
    assert env_name("database", "name") == "UBLOG_DATABASE_NAME"
    assert env_name("email", "host") == "UBLOG_EMAIL_HOST"
    assert "UBLOG_CONFIG" not in names


def test_env_overrides(load):
    conf = load(
        FULL,
        UBLOG_SECRET_KEY="from-env",
        UBLOG_DEBUG="0",
        UBLOG_ALLOWED_HOSTS="a.example, b.example",
        UBLOG_DATABASE_NAME="other",
        UBLOG_DATABASE_PORT="",
        UBLOG_EMAIL_HOST="smtp.example",
        UBLOG_EMAIL_FROM="me@example.org",
        UBLOG_UPLOADS_MAX_IMAGE_SIZE="42",
        UBLOG_ACCOUNTS_SIGNUP_OPEN="yes",
        UBLOG_UNKNOWN_THING="ignored",
    )
    assert conf.secret_key == "from-env"
    assert conf["ublog", "debug"] is False
    assert conf["ublog", "allowed_hosts"] == ["a.example", "b.example"]
    assert conf["database", "name"] == "other"
    assert conf["database", "port"] is None
    assert conf["email", "host"] == "smtp.example"
    assert conf["email", "from"] == "me@example.org"
    assert conf["uploads", "max_image_size"] == 42
    assert conf["accounts", "signup_open"] is True
    assert conf.origin("database", "name") == "$UBLOG_DATABASE_NAME"


def test_env_override_error_names_the_variable(load):
    message = error_of(load, FULL, UBLOG_DATABASE_PORT="abc")
    assert message == (
        "ublog: UBLOG_DATABASE_PORT: [database] port: 'abc' is not an integer"
    )


# -- the source: UBLOG_CONFIG, /etc/ublog/ublog.conf, embedded default ------------


def test_system_config_used_when_present(tmp_path, write_config):
    system = write_config(f"[ublog]\nsecret_key = {SECRET}\n", name="system.conf")
    conf = load_config({}, system_config=system)
    assert conf.source == system
    assert conf.secret_key == SECRET


def test_ublog_config_beats_system_config(write_config):
    system = write_config("[ublog]\nsecret_key = system\n", name="system.conf")
    mine = write_config("[ublog]\nsecret_key = mine\n", name="mine.conf")
    conf = load_config({"UBLOG_CONFIG": str(mine)}, system_config=system)
    assert conf.secret_key == "mine"
    # Empty UBLOG_CONFIG counts as unset.
    assert (
        load_config({"UBLOG_CONFIG": ""}, system_config=system).secret_key == "system"
    )


def test_default_system_config_path(monkeypatch, tmp_path):
    assert Path("/etc/ublog/ublog.conf") == config.SYSTEM_CONFIG
    monkeypatch.setattr(config, "SYSTEM_CONFIG", tmp_path / "absent.conf")
    conf = load_config({"UBLOG_DATA_DIR": str(tmp_path / "d")})
    assert conf.source is None


def test_embedded_default(tmp_path, no_system):
    data_dir = tmp_path / "data"
    conf = load_config({"UBLOG_DATA_DIR": str(data_dir)}, system_config=no_system)
    assert conf.source is None
    assert conf.source_label == "embedded default (no configuration file)"
    assert conf["ublog", "debug"] is True
    assert conf["ublog", "allowed_hosts"] == ["localhost", "127.0.0.1", "[::1]"]
    assert conf["ublog", "data_dir"] == data_dir
    assert conf["database", "engine"] == "sqlite"
    assert conf["database", "name"] == data_dir / "db.sqlite3"
    assert conf["email", "backend"] == "file"
    assert conf["email", "file_path"] == data_dir / "mail"
    key_file = data_dir / "secret_key"
    assert conf["ublog", "secret_key_file"] == key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert conf.secret_key == key_file.read_text().strip()
    assert len(conf.secret_key) >= 50
    assert [p.name for p in data_dir.iterdir()] == ["secret_key"]
    # Generated once, then reused.
    again = load_config({"UBLOG_DATA_DIR": str(data_dir)}, system_config=no_system)
    assert again.secret_key == conf.secret_key
    # A fresh data dir gets a fresh key.
    other = load_config(
        {"UBLOG_DATA_DIR": str(tmp_path / "other")}, system_config=no_system
    )
    assert other.secret_key != conf.secret_key


def test_embedded_default_env_overrides(tmp_path, no_system):
    conf = load_config(
        {
            "UBLOG_DATA_DIR": str(tmp_path),
            "UBLOG_DEBUG": "false",
            "UBLOG_SECRET_KEY": "given",
        },
        system_config=no_system,
    )
    assert conf["ublog", "debug"] is False
    assert conf.secret_key == "given"
    assert not (tmp_path / "secret_key").exists()


def test_embedded_data_dir_xdg_and_home(tmp_path, no_system, monkeypatch):
    xdg = tmp_path / "xdg"
    conf = load_config({"XDG_DATA_HOME": str(xdg)}, system_config=no_system)
    assert conf["ublog", "data_dir"] == xdg / "ublog"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for environ in ({}, {"XDG_DATA_HOME": "relative/ignored"}):
        conf = load_config(environ, system_config=no_system)
        assert conf["ublog", "data_dir"] == tmp_path / "home/.local/share/ublog"


def test_secret_key_race_loser_keeps_the_winners_key(tmp_path, monkeypatch):
    path = tmp_path / "secret_key"

    def lose(source, target):
        Path(target).write_text("winner\n")
        raise FileExistsError(target)

    monkeypatch.setattr(os, "link", lose)
    config.ensure_secret_key_file(path)
    assert path.read_text() == "winner\n"
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_load_config_reads_os_environ(clean_env, tmp_path, write_config):
    path = write_config(f"[ublog]\nsecret_key = {SECRET}\n")
    clean_env.setenv("UBLOG_CONFIG", str(path))
    clean_env.setenv("UBLOG_HTTPS", "true")
    conf = load_config()
    assert conf.source == path
    assert conf["ublog", "https"] is True


# -- the shipped example -----------------------------------------------------------


def example_text():
    return files("ublog_site").joinpath("conf/ublog.conf.example").read_text()


def test_example_documents_every_key():
    text = example_text()
    for section, keys in SCHEMA.items():
        assert f"\n[{section}]\n" in text
        for key in keys:
            assert re.search(rf"^#{key} =", text, re.MULTILINE), key


def test_example_uncommented_gives_the_packaged_defaults(write_config, no_system):
    uncommented = re.sub(r"^#(\w+ =)", r"\1", example_text(), flags=re.MULTILINE)
    example = load_config(
        {"UBLOG_CONFIG": str(write_config(uncommented)), "UBLOG_SECRET_KEY": SECRET},
        system_config=no_system,
    )
    defaults = load_config(
        {
            "UBLOG_CONFIG": str(write_config("", name="empty.conf")),
            "UBLOG_SECRET_KEY": SECRET,
        },
        system_config=no_system,
    )
    deprecated = {("accounts", "signup_rate"), ("accounts", "login_rate")}
    for section, key, value, _origin, _secret in defaults.items():
        if (section, key) not in deprecated:  # unset by default
            assert example[section, key] == value, (section, key)
    # ... and as shipped (all commented) it only lacks the secret key.
    with pytest.raises(ConfigError, match=r"\[ublog\] secret_key: missing"):
        load_config(
            {"UBLOG_CONFIG": str(write_config(example_text(), name="as-is.conf"))},
            system_config=no_system,
        )
