"""Tests of ``ublog-ctl`` (subprocesses and in-process) and ``showconfig``."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from ublog_site import ctl

from .conftest import TEST_SECRET_KEY

SECRET = "ctl-" + "0123456789" * 6


@pytest.fixture
def run_ctl(ublog_ctl, tmp_path):
    """Run ``ublog-ctl`` with a configuration file of ``text``."""

    def run(*args, text=None, **env):
        environ = {k: v for k, v in os.environ.items() if not k.startswith("UBLOG_")}
        environ.pop("DJANGO_SETTINGS_MODULE", None)
        if text is not None:
            path = tmp_path / "ctl.conf"
            path.write_text(text)
            environ["UBLOG_CONFIG"] = str(path)
        environ |= env
        return subprocess.run(
            [ublog_ctl, *args], env=environ, capture_output=True, text=True, check=False
        )

    return run


def sqlite_config(tmp_path, extra=""):
    return (
        f"[ublog]\nsecret_key = {SECRET}\ndata_dir = {tmp_path}\n{extra}"
        "[database]\nengine = sqlite\n"
    )


def test_version(run_ctl):
    result = run_ctl("--version")
    assert result.returncode == 0
    assert result.stdout == "0.1.0\n"


def test_bad_config_exits_2_with_one_line(run_ctl, tmp_path):
    result = run_ctl(
        "check", text="[ublog]\nsecret_key = x\n\n[database]\nport = abc\n"
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"ublog: {tmp_path / 'ctl.conf'}:5: [database] port: 'abc' is not an integer\n"
    )


def test_bad_env_override_exits_2(run_ctl, tmp_path):
    result = run_ctl("check", text=sqlite_config(tmp_path), UBLOG_DEBUG="sometimes")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ublog: UBLOG_DEBUG: [ublog] debug: 'sometimes' is not a boolean "
        "(use true or false)"
    ]


def test_check_migrate_and_showconfig(run_ctl, tmp_path):
    text = sqlite_config(tmp_path)
    # `check` alone is the admin's full report: deploy checks + database.
    result = run_ctl("check", text=text)
    assert result.returncode == 0, result.stderr
    assert "(ublog_site.W001)" in result.stderr
    assert "unapplied migration(s)" in result.stderr
    result = run_ctl("migrate", "--no-input", text=text)
    assert result.returncode == 0, result.stderr
    assert "Applying ublog_posts.0001_initial... OK" in result.stdout
    result = run_ctl("check", text=text)
    assert "ublog_site.W001" not in result.stderr
    assert "(security.W004)" in result.stderr  # HTTP-only: no HSTS
    assert (tmp_path / "db.sqlite3").exists()
    result = run_ctl("showconfig", text=text)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout
    assert "secret_key = ********" in result.stdout
    assert f"# source: {tmp_path / 'ctl.conf'}" in result.stdout


def test_embedded_default_runs_without_config(run_ctl, tmp_path):
    data_dir = tmp_path / "dev"
    # A /etc/ublog/ublog.conf on this machine would be used: skip then.
    if os.path.exists("/etc/ublog/ublog.conf"):  # pragma: no cover
        pytest.skip("/etc/ublog/ublog.conf exists")
    result = run_ctl("showconfig", "--origins", UBLOG_DATA_DIR=str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "# source: embedded default (no configuration file)" in result.stdout
    assert f"data_dir = {data_dir}" in result.stdout
    assert (data_dir / "secret_key").exists()


# -- in-process (for coverage) -----------------------------------------------------


def test_main_version(capsys):
    assert ctl.main(["ublog-ctl", "--version"]) == 0
    assert capsys.readouterr().out == "0.1.0\n"


def test_main_config_error(clean_env, tmp_path, capsys):
    clean_env.setenv("UBLOG_CONFIG", str(tmp_path / "missing.conf"))
    clean_env.setenv("DJANGO_SETTINGS_MODULE", "ublog_site.settings")
    assert ctl.main(["ublog-ctl", "check"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"ublog: UBLOG_CONFIG={tmp_path / 'missing.conf'}: no such configuration file\n"
    )


def test_main_dispatches_to_django(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["ublog-ctl", "check", "--tag", "urls"])
    assert ctl.main() == 0
    assert "no issues" in capsys.readouterr().out


def test_main_other_settings_module_skips_config(clean_env, tmp_path, monkeypatch):
    # With another settings module ublog-ctl is plain django-admin.
    clean_env.setenv("UBLOG_CONFIG", str(tmp_path / "missing.conf"))
    clean_env.setenv("DJANGO_SETTINGS_MODULE", "some.other.settings")
    called = []
    monkeypatch.setattr(
        "django.core.management.execute_from_command_line", called.append
    )
    assert ctl.main(["ublog-ctl", "help"]) == 0
    assert called == [["ublog-ctl", "help"]]


def test_showconfig_masks_secrets():
    out = StringIO()
    call_command("showconfig", stdout=out)
    text = out.getvalue()
    assert TEST_SECRET_KEY not in text
    assert "secret_key = ********\n" in text
    assert "[database]\nengine = sqlite\n" in text
    assert "allowed_hosts = localhost, 127.0.0.1, [::1]\n" in text
    assert "debug = false\n" in text
    assert "port =\n" in text


def test_showconfig_origins(settings):
    settings.CONFIG = None  # showconfig then loads the configuration itself
    out = StringIO()
    call_command("showconfig", "--origins", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("# source: ")
    secret = next(line for line in lines if line.startswith("secret_key ="))
    assert secret.split("#")[0].strip() == "secret_key = ********"
    assert secret.endswith("ublog.conf:2")
    assert any(
        line.startswith("data_dir =") and "$UBLOG_DATA_DIR" in line for line in lines
    )


def test_root_runs_django_commands_as_the_service_user(clean_env, monkeypatch):
    monkeypatch.setattr(ctl.os, "geteuid", lambda: 0)
    monkeypatch.setattr(ctl, "SERVICE_USER", "nobody")
    switch = ctl._as_service_user(["ublog-ctl", "createsuperuser"])
    assert switch[:4] == ["runuser", "-u", "nobody", "--"]
    assert switch[-3:] == ["-m", "ublog_site.ctl", "createsuperuser"]
    clean_env.setenv("UBLOG_CTL_USER", "root")
    assert ctl._as_service_user(["ublog-ctl", "migrate"]) is None
    clean_env.delenv("UBLOG_CTL_USER")
    monkeypatch.setattr(ctl, "SERVICE_USER", "no-such-user-here")
    assert ctl._as_service_user(["ublog-ctl", "migrate"]) is None
    monkeypatch.setattr(ctl.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(ctl, "SERVICE_USER", "nobody")
    assert ctl._as_service_user(["ublog-ctl", "migrate"]) is None
