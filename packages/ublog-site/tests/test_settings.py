"""Tests of ublog_site.settings: Django settings derived from the config."""

import os
import re
import runpy
import subprocess
import sys

import django
import pytest
from django.conf import settings

import ublog_site.settings

SECRET = "k3y-" + "abcdefghij" * 6


@pytest.fixture
def build(clean_env, write_config):
    """Execute a fresh copy of ublog_site.settings for a configuration text."""

    def build_settings(text, **env):
        clean_env.setenv("UBLOG_CONFIG", str(write_config(text)))
        for name, value in env.items():
            clean_env.setenv(name, value)
        return runpy.run_path(ublog_site.settings.__file__)

    return build_settings


def test_test_run_uses_ublog_site_settings():
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "ublog_site.settings"
    assert settings.ROOT_URLCONF == "ublog_site.urls"
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


def test_apps_and_middleware(build):
    conf = build(f"[ublog]\nsecret_key = {SECRET}\n")
    apps = conf["INSTALLED_APPS"]
    assert apps.index("ublog_site") < apps.index("ublog_posts")
    assert apps.index("ublog_site") < apps.index("ublog_accounts")
    for app in ("admin", "auth", "contenttypes", "sessions", "messages", "staticfiles"):
        assert f"django.contrib.{app}" in apps
    middleware = conf["MIDDLEWARE"]
    # /healthz first (no host check, no session), then security.
    assert middleware[:2] == [
        "ublog_site.health.HealthMiddleware",
        "django.middleware.security.SecurityMiddleware",
    ]
    assert "django.middleware.csrf.CsrfViewMiddleware" in middleware
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in middleware
    assert conf["TEMPLATES"][0]["APP_DIRS"] is True
    assert conf["LOGIN_URL"] == "ublog_accounts:login"
    assert conf["LOGIN_REDIRECT_URL"] == conf["LOGOUT_REDIRECT_URL"] == "/"
    assert conf["DEFAULT_AUTO_FIELD"] == "django.db.models.BigAutoField"
    assert len(conf["AUTH_PASSWORD_VALIDATORS"]) == 4
    assert conf["STATIC_URL"] == "/static/"
    assert conf["MEDIA_URL"] == "/media/"
    assert conf["STATIC_ROOT"] == "/var/lib/ublog/static"
    assert conf["MEDIA_ROOT"] == "/var/lib/ublog/media"
    assert conf["FILE_UPLOAD_PERMISSIONS"] == 0o644
    assert conf["FILE_UPLOAD_DIRECTORY_PERMISSIONS"] == 0o755
    assert conf["LOGGING"]["handlers"]["stderr"]["stream"] == "ext://sys.stderr"


def test_http_only(build):
    conf = build(f"[ublog]\nsecret_key = {SECRET}\nhttps = false\n")
    assert conf["DEBUG"] is False
    assert conf["SECURE_SSL_REDIRECT"] is False
    assert conf["SESSION_COOKIE_SECURE"] is False
    assert conf["CSRF_COOKIE_SECURE"] is False
    assert conf["SECURE_HSTS_SECONDS"] == 0
    assert "SECURE_PROXY_SSL_HEADER" not in conf
    assert "CSRF_TRUSTED_ORIGINS" not in conf
    assert conf["SILENCED_SYSTEM_CHECKS"] == ["django_ratelimit.W001"]
    assert conf["X_FRAME_OPTIONS"] == "DENY"
    assert conf["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert conf["SESSION_COOKIE_HTTPONLY"] is True


def test_behind_tls(build):
    conf = build(
        f"[ublog]\nsecret_key = {SECRET}\nhttps = true\n"
        "allowed_hosts = blog.example.org, .example.net, *\n"
    )
    assert conf["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert conf["SECURE_SSL_REDIRECT"] is True
    assert conf["SESSION_COOKIE_SECURE"] is True
    assert conf["CSRF_COOKIE_SECURE"] is True
    assert conf["SECURE_HSTS_SECONDS"] == 31536000
    assert conf["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert conf["SECURE_HSTS_PRELOAD"] is False
    assert conf["SILENCED_SYSTEM_CHECKS"] == [
        "django_ratelimit.W001",
        "security.W021",
    ]
    assert conf["CSRF_TRUSTED_ORIGINS"] == [
        "https://blog.example.org",
        "https://*.example.net",
    ]
    preload = build(f"[ublog]\nsecret_key = {SECRET}\nhttps = true\nhsts_preload = 1\n")
    assert preload["SECURE_HSTS_PRELOAD"] is True
    assert preload["SILENCED_SYSTEM_CHECKS"] == ["django_ratelimit.W001"]


def test_postgresql(build, tmp_path):
    (tmp_path / "pw").write_text("sekrit\n")
    conf = build(
        f"[ublog]\nsecret_key = {SECRET}\n"
        f"[database]\nhost = db.example\nport = 5433\nsslmode = verify-full\n"
        f"password_file = {tmp_path / 'pw'}\nconn_max_age = 60\n"
    )
    assert conf["DATABASES"]["default"] == {
        "ENGINE": "ublog_site.db.postgresql",
        "NAME": "ublog",
        "USER": "ublog",
        "PASSWORD": "sekrit",
        "HOST": "db.example",
        "PORT": "5433",
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_wait": 30, "sslmode": "verify-full"},
    }
    local = build(f"[ublog]\nsecret_key = {SECRET}\n")["DATABASES"]["default"]
    assert (local["HOST"], local["PORT"], local["PASSWORD"]) == ("", "", "")
    assert local["OPTIONS"] == {"connect_wait": 30}
    # Persistent connections by default, checked before reuse.
    assert (local["CONN_MAX_AGE"], local["CONN_HEALTH_CHECKS"]) == (60, True)
    fresh = build(f"[ublog]\nsecret_key = {SECRET}\n[database]\nconn_max_age = 0\n")
    assert fresh["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is False


def test_sqlite(build, tmp_path):
    conf = build(
        f"[ublog]\nsecret_key = {SECRET}\ndata_dir = {tmp_path}\n"
        "[database]\nengine = sqlite\n"
    )
    assert conf["DATABASES"]["default"] == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "db.sqlite3"),
        # The web server and the mail sender both write: wait, never fail.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }


def test_uploads_accounts_and_locale(build):
    conf = build(
        f"[ublog]\nsecret_key = {SECRET}\ntime_zone = Europe/Paris\n"
        "language_code = fr\nadmins = Ops <ops@example.org>\n"
        "[uploads]\nmax_image_size = 1234\n"
        "[accounts]\nactivation_days = 3\nsignup_open = no\n"
    )
    assert conf["UBLOG_POSTS_MAX_IMAGE_SIZE"] == 1234
    assert conf["FILE_UPLOAD_MAX_MEMORY_SIZE"] == 1234
    assert conf["UBLOG_ACCOUNTS_ACTIVATION_DAYS"] == 3
    assert conf["UBLOG_ACCOUNTS_SIGNUP_OPEN"] is False
    assert conf["TIME_ZONE"] == "Europe/Paris"
    assert conf["LANGUAGE_CODE"] == "fr"
    if django.VERSION >= (6, 0):
        assert conf["ADMINS"] == ["Ops <ops@example.org>"]
    else:  # pragma: no cover
        assert conf["ADMINS"] == [("Ops <ops@example.org>",) * 2]


def delivery_settings(conf):
    """(delivery backend, its options): every mail is queued first."""
    assert conf["EMAIL_BACKEND"] == "ublog_site.mail.queue.QueueBackend"
    assert "mailer" in conf["INSTALLED_APPS"]
    keys = {
        "host": "EMAIL_HOST",
        "port": "EMAIL_PORT",
        "username": "EMAIL_HOST_USER",
        "password": "EMAIL_HOST_PASSWORD",
        "use_tls": "EMAIL_USE_TLS",
        "use_ssl": "EMAIL_USE_SSL",
        "timeout": "EMAIL_TIMEOUT",
        "file_path": "EMAIL_FILE_PATH",
    }
    options = {name: conf[setting] for name, setting in keys.items()}
    return conf["MAILER_EMAIL_BACKEND"].rsplit(".", 2)[1], options


def test_email_smtp(build, tmp_path):
    (tmp_path / "pw").write_text("mailpw")
    conf = build(
        f"[ublog]\nsecret_key = {SECRET}\n[email]\nhost = mx.example\nport = 587\n"
        f"user = me\npassword_file = {tmp_path / 'pw'}\nuse_tls = true\n"
        "from = blog@example.org\ntimeout = 1m\n"
    )
    backend, options = delivery_settings(conf)
    assert backend == "smtp"
    assert {k: options[k] for k in ("host", "port", "username", "password")} == {
        "host": "mx.example",
        "port": 587,
        "username": "me",
        "password": "mailpw",
    }
    assert (options["use_tls"], options["use_ssl"], options["timeout"]) == (
        True,
        False,
        60,
    )
    assert conf["DEFAULT_FROM_EMAIL"] == conf["SERVER_EMAIL"] == "blog@example.org"
    # The packaged defaults: the local MTA, and the retry schedule.
    conf = build(f"[ublog]\nsecret_key = {SECRET}\n[email]\nport = 465\nuse_ssl = 1\n")
    backend, options = delivery_settings(conf)
    assert (options["host"], options["port"], options["use_ssl"]) == (
        "localhost",
        465,
        True,
    )
    assert conf["MAILER_USE_FILE_LOCK"] is False
    assert conf["MAILER_EMAIL_LOG_MESSAGE_DATA"] is False
    assert conf["UBLOG_MAIL_RETRY_DELAY"] == 60
    assert conf["UBLOG_MAIL_MAX_RETRY_DELAY"] == 7200
    assert conf["UBLOG_MAIL_MAX_ATTEMPTS"] == 20


@pytest.mark.parametrize("backend", ["console", "file"])
def test_email_console_and_file(build, tmp_path, backend):
    conf = build(
        f"[ublog]\nsecret_key = {SECRET}\ndata_dir = {tmp_path}\n"
        f"[email]\nbackend = {backend}\n"
    )
    name, options = delivery_settings(conf)
    assert name == {"console": "console", "file": "filebased"}[backend]
    if backend == "file":
        assert options["file_path"] == str(tmp_path / "mail")


def test_settings_module_raises_config_error(clean_env, write_config):
    from ublog_site.config import ConfigError

    clean_env.setenv("UBLOG_CONFIG", str(write_config("[ublog]\ndebug = perhaps\n")))
    with pytest.raises(ConfigError, match=r"\[ublog\] debug: 'perhaps'"):
        runpy.run_path(ublog_site.settings.__file__)


# -- Django's deployment checks, in a fresh process --------------------------------


def deploy_check(tmp_path, https, smtp_port):
    path = tmp_path / "deploy.conf"
    path.write_text(
        f"[ublog]\nsecret_key = {SECRET}\nhttps = {https}\n"
        f"allowed_hosts = blog.example.org\ndata_dir = {tmp_path}\n"
        "[database]\nengine = sqlite\n"
        f"[email]\nhost = 127.0.0.1\nport = {smtp_port}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("UBLOG_")}
    env |= {"UBLOG_CONFIG": str(path), "DJANGO_SETTINGS_MODULE": "ublog_site.settings"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_deploy_check_behind_tls_has_no_warnings(tmp_path, smtp_server):
    result = deploy_check(tmp_path, https="true", smtp_port=smtp_server.port)
    assert result.returncode == 0, result.stderr
    # security.W021 (no HSTS preload) and django_ratelimit.W001 (see settings).
    assert "no issues (2 silenced)" in result.stdout
    assert "WARNING" not in result.stderr


def test_deploy_check_http_only_warnings_are_the_documented_ones(tmp_path, smtp_server):
    result = deploy_check(tmp_path, https="false", smtp_port=smtp_server.port)
    assert result.returncode == 1
    found = sorted(set(re.findall(r"(?:security|ublog_site)\.\w+", result.stderr)))
    assert found == ["security.W004", "security.W008", "security.W012", "security.W016"]


def test_deploy_check_warns_when_no_mail_server_answers(tmp_path, closed_port):
    port = closed_port
    result = deploy_check(tmp_path, https="true", smtp_port=port)
    assert result.returncode == 1
    assert re.findall(r"\w+\.W\d+", result.stderr) == ["ublog_site.W002"]
    assert (
        f"SMTP 127.0.0.1:{port} does not take mail: the server does not answer: "
        "Connection refused" in result.stderr
    )
    assert "apt install default-mta" in result.stderr
