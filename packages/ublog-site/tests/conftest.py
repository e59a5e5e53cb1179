"""Run the tests against ublog_site.settings, configured by a generated file.

This module is imported before Django is set up: it removes every ``UBLOG_*``
variable of the calling environment, writes a test configuration (SQLite in a
temporary directory) and points ``UBLOG_CONFIG`` at it, so neither the
environment nor ``/etc/ublog/ublog.conf`` of the machine can affect the tests.
"""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

for _name in [name for name in os.environ if name.startswith("UBLOG_")]:
    del os.environ[_name]

TMP = Path(tempfile.mkdtemp(prefix="ublog-site-tests-"))
atexit.register(shutil.rmtree, TMP, ignore_errors=True)
DATA_DIR = TMP / "data"
TEST_CONFIG = TMP / "ublog.conf"
TEST_SECRET_KEY = "test-only-secret-key-" + "x1y2z3" * 8
TEST_CONFIG.write_text(
    f"""\
[ublog]
secret_key = {TEST_SECRET_KEY}
data_dir = {DATA_DIR}

[database]
engine = sqlite

[email]
backend = console
"""
)
os.environ["UBLOG_CONFIG"] = str(TEST_CONFIG)
# Run Django commands as whoever runs the tests, even as root on a machine
# that has the packaged ublog user.
os.environ["UBLOG_CTL_USER"] = "root"
os.environ["UBLOG_DATA_DIR"] = str(DATA_DIR)
os.environ["DJANGO_SETTINGS_MODULE"] = "ublog_site.settings"


def pytest_configure(config):
    # Load the settings now: pytest-django then sets Django up (trylast).
    from django.conf import settings

    assert settings.CONFIG.source == TEST_CONFIG


def _bin(name):
    path = Path(sys.executable).with_name(name)
    return str(path) if path.exists() else shutil.which(name)


@pytest.fixture
def ublog_ctl():
    """The path of the installed ``ublog-ctl`` script."""
    return _bin("ublog-ctl")


@pytest.fixture
def clean_env(monkeypatch):
    """``os.environ`` without any ``UBLOG_*`` variable (restored afterwards)."""
    for name in list(os.environ):
        if name.startswith("UBLOG_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def write_config(tmp_path):
    """Write a configuration file; return its path."""

    def write(text, name="ublog.conf"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
