"""A real package index on loopback for tests: pypiserver (from
requirements/tools.txt) on a free port, uploads only with the user and
password of an htpasswd file made here, no fallback to PyPI; and the clean
environment a command gets that must see no other source of packages."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings

import pytest

from support.ports import free_port

#: The one user allowed to upload.
USER = "uploader"
# Environment variables that would add another source of packages, redirect
# the loopback traffic or leak the tool venv into the new one.
FOREIGN_ENV = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE")
PROXY_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def clean_env(*, keep_pip=(), loopback_only=False, **extra):
    """os.environ without pip's configuration (PIP_FIND_LINKS and the like)
    and what would leak into another venv; ``loopback_only`` also drops the
    proxies, for commands that only talk to the loopback index."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not (key.startswith("PIP_") and key not in keep_pip)
        and key not in FOREIGN_ENV
        and not (loopback_only and key.lower() in PROXY_ENV)
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def http_get(url, timeout=5):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return response.status, response.read()


def http_status(url, method="GET", data=None, headers=None):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data, headers or {}, method=method)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class Index:
    """pypiserver on a free loopback port; uploads need the htpasswd user."""

    def __init__(self, directory):
        self.directory = directory
        self.packages = directory / "packages"
        self.packages.mkdir(parents=True)
        self.password = os.urandom(12).hex()
        self.htpasswd = directory / "htpasswd"
        with warnings.catch_warnings():
            # passlib 1.7.4 imports the crypt module, deprecated in 3.11.
            warnings.simplefilter("ignore", DeprecationWarning)
            from passlib.apache import HtpasswdFile

        users = HtpasswdFile(
            str(self.htpasswd), new=True, default_scheme="sha256_crypt"
        )
        users.set_password(USER, self.password)
        users.save()
        self.log = directory / "pypiserver.log"
        self.process = None

    def start(self):
        for _attempt in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            command = [sys.executable, "-m", "pypiserver", "run"]
            command += ["--host", "127.0.0.1", "--port", str(self.port)]
            command += ["--authenticate", "update", "--passwords", str(self.htpasswd)]
            command += ["--disable-fallback", "--server", "wsgiref", "-v"]
            command += [str(self.packages)]
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=clean_env(loopback_only=True),
                )
            if self.wait_until_up():
                return
            self.stop()  # the port was taken meanwhile: another one
        pytest.fail(f"pypiserver did not start:\n{self.log.read_text()}", pytrace=False)

    def wait_until_up(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                status, _ = http_get(f"{self.url}/health", timeout=2)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def stop(self):
        """Stop the server this test started, by its PID."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
