"""`make run` from a fresh clone: the development site an app author starts.

The work tree (what git tracks, plus new files not ignored) is copied to an
empty directory, as a fresh clone would be, and `make run` starts there: it
makes its venvs, prepares the SQLite database under var/ and runs the
development server with the mail sender. Over HTTP, a visitor then signs up,
finds the activation mail in var/mail/, activates, logs in and posts. Then
the same var/ is started again after "an upgrade of the code": a database
from before the cache table existed gets what it lacks, and keeps its data.
"""

import os
import re
import signal
import sqlite3
import subprocess
import time
from email import message_from_bytes, policy
from pathlib import Path

from support.figures import report
from support.httpclient import HttpSession
from support.ports import free_port
from ublog_build.paths import ROOT

PASSWORD = "a long and uncommon passphrase"


def fresh_clone(target: Path) -> Path:
    """Copy what a clone of this work tree would hold into ``target``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / os.fsdecode(name)
        if not source.is_file():  # deleted in the work tree
            continue
        copy = target / os.fsdecode(name)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(source.read_bytes())
        copy.chmod(source.stat().st_mode)
    return target


class MakeRun:
    """`make run` in its own process group, ended (the group: what we
    started) on exit."""

    def __init__(self, clone: Path, log: Path):
        self.clone, self.log = clone, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("UBLOG_")}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                ["make", "run", f"RUN_ADDRESS=127.0.0.1:{self.port}"],
                cwd=self.clone,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        return self

    def wait_for_home(self, timeout: float) -> float:
        started = time.monotonic()
        web = HttpSession(self.url, timeout=10)
        while True:
            assert self.process.poll() is None, self.tail()
            try:
                if web.get("/").status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            assert time.monotonic() - started < timeout, self.tail()
            time.sleep(0.5)

    def tail(self) -> str:
        return "make run:\n" + self.log.read_text(errors="replace")[-4000:]

    def __exit__(self, *exc):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        # Nothing of the group survives (the sender ends with the server).
        deadline = time.monotonic() + 10
        while _group_alive(self.process.pid):
            assert time.monotonic() < deadline, "processes of `make run` survive"
            time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_mail(directory: Path, address: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(directory.glob("*.log")) if directory.is_dir() else []:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] == address:
                return message
        time.sleep(0.2)
    raise AssertionError(f"no mail to {address} in {directory} after {timeout} s")


def test_make_run_from_a_fresh_clone_signs_up_activates_and_posts(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    log = tmp_path / "make-run.log"
    with MakeRun(clone, log) as site:
        first = site.wait_for_home(timeout=600)
        report("make run from a fresh clone to the first 200", f"{first:.1f} s")
        web = HttpSession(site.url)
        assert "μblog" in web.get("/").text

        # Sign up: the "check your mail" page, the mail in var/mail/.
        assert web.get("/accounts/signup/").status == 200
        signed_up = web.post_form(
            "/accounts/signup/",
            {
                "username": "newcomer",
                "email": "newcomer@example.org",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
        assert signed_up.status == 200, signed_up.text[:3000]
        assert "Check your e-mail" in signed_up.text
        mail = wait_for_mail(clone / "var" / "mail", "newcomer@example.org")
        body = mail.get_body(("plain",)).get_content()
        link = re.search(rf"{site.url}(/accounts/activate/\S+/)", body)
        assert link, body

        # Activate (GET shows the form, POST activates), log in, post.
        assert "Activate your account" in web.get(link[1]).text
        activated = web.post_form(link[1], {})
        assert "Account activated" in activated.text, activated.text[:3000]
        assert web.get("/accounts/login/").status == 200
        logged_in = web.post_form(
            "/accounts/login/", {"username": "newcomer", "password": PASSWORD}
        )
        assert 'class="site-user">newcomer<' in logged_in.text
        assert web.get("/new/").status == 200
        posted = web.post_form("/new/", {"text": "Hello from make run"})
        assert posted.status == 200 and "Hello from make run" in posted.text
        assert "Hello from make run" in HttpSession(site.url).get("/").text

    # The same var/ after "an upgrade of the code": its database lacks the
    # cache table, as `make run` of earlier versions left it (every page
    # answered 500 then). The one preparing step adds it; the data stays.
    database = clone / "var" / "db.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("DROP TABLE ublog_cache")
    with MakeRun(clone, log) as site:
        again = site.wait_for_home(timeout=120)
        report("make run again on the same var/", f"{again:.1f} s")
        assert "Hello from make run" in HttpSession(site.url).get("/").text
