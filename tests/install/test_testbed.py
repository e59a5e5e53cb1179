"""The testbed harness, proven with plain nginx: boot a Debian container
(the oldest release) in its own network namespace, install nginx there with
no network, fetch the welcome page from the host, and leave nothing
behind."""

import http.server
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from support.errors import CommandError, TestbedError
from support.httpclient import HttpSession
from support.leftovers import PREFIX, leftovers
from support.testbed import Testbed

TESTS = Path(__file__).resolve().parents[1]


def test_nginx_installs_offline_and_serves_the_host(nginx_root, bed_args):
    name = bed_args["name"]
    with Testbed(tarball=nginx_root, **bed_args) as tb:
        state = tb.run(["systemctl", "is-system-running"], check=False).stdout
        assert state.strip() in ("running", "degraded")

        # No route out: not even to the mirror's real address.
        mirror = socket.gethostbyname("deb.debian.org")
        out = tb.run(
            f"curl -sS -m 5 --resolve deb.debian.org:80:{mirror} "
            "http://deb.debian.org/debian/",
            check=False,
        )
        assert out.returncode != 0, out.stdout

        tb.run("apt-get install -y -q --no-download nginx", timeout=300)
        assert tb.run("systemctl is-active nginx").stdout.strip() == "active"

        status, headers, body = tb.http("/")
        assert status == 200
        assert b"Welcome to nginx!" in body
        assert headers["Server"].startswith("nginx")
        assert tb.http("/missing").status == 404  # no exception on 4xx
        assert leftovers(name)  # the check below can see a live testbed
    assert leftovers(name) == []
    assert not (bed_args["workdir"] / f"{name}.root").exists()
    assert not (bed_args["workdir"] / f"{name}.upper").exists()
    assert "Reached target" in (bed_args["workdir"] / f"{name}.boot.log").read_text()


def test_failing_command_raises_with_its_output(nginx_root, bed_args):
    with Testbed(tarball=nginx_root, **bed_args) as tb:
        with pytest.raises(CommandError) as info:
            tb.run("echo to-stdout; echo oh-no-stderr >&2; exit 3")
        assert "oh-no-stderr" in str(info.value)
        assert "to-stdout" in str(info.value)
        assert info.value.result.returncode == 3
        assert tb.run(["false"], check=False).returncode == 1
        assert tb.run("cat", input="piped").stdout == "piped"
    assert leftovers(bed_args["name"]) == []


def test_cleanup_when_the_body_raises(nginx_root, bed_args):
    with (
        pytest.raises(RuntimeError, match="boom"),
        Testbed(tarball=nginx_root, **bed_args),
    ):
        raise RuntimeError("boom")
    assert leftovers(bed_args["name"]) == []


def test_cleanup_when_nspawn_is_killed(nginx_root, bed_args):
    """The container outlives a SIGKILLed nspawn; close() must still end it."""
    with Testbed(tarball=nginx_root, **bed_args) as tb:
        tb.nspawn.kill()
        tb.nspawn.wait()
        os.kill(tb.init_pid, 0)  # the container's init lives on
    assert leftovers(bed_args["name"]) == []


def test_cleanup_on_sigterm(nginx_root, bed_args):
    """SIGTERM tears the testbeds down, then the process dies of the signal."""
    args = {**bed_args, "tarball": str(nginx_root), "workdir": str(bed_args["workdir"])}
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(TESTS)!r})
        from support.testbed import Testbed
        with Testbed(**{args!r}):
            print("ready", flush=True)
            time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert leftovers(bed_args["name"]) == []


def test_missing_tarball_fails_loudly(tmp_path, bed_args):
    missing = tmp_path / "nope.tar.zst"
    with (
        pytest.raises(TestbedError, match="no tarball"),
        Testbed(tarball=missing, **bed_args),
    ):
        pass
    assert leftovers(bed_args["name"]) == []


def test_http_session_keeps_cookies_and_sends_csrf():
    """The session helper against a loopback server: cookies, CSRF, redirects,
    multipart uploads."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Set-Cookie", "csrftoken=tok123; Path=/")
            self.end_headers()
            self.wfile.write(b"<form>")

        def do_POST(self):
            length = int(self.headers["Content-Length"])
            body = self.rfile.read(length).decode("utf-8", "replace")
            seen.append((self.headers["Cookie"], body))
            self.send_response(302)
            self.send_header("Location", "/done")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = HttpSession(f"http://127.0.0.1:{server.server_port}")
        assert session.get("/login").status == 200
        assert session.cookie("csrftoken") == "tok123"
        response = session.post_form("/login", {"user": "ann"}, follow=False)
        assert response.status == 302
        assert response.headers["Location"] == "/done"
        assert seen == [("csrftoken=tok123", "csrfmiddlewaretoken=tok123&user=ann")]
        uploaded = session.post_multipart(
            "/new", {"text": "hi"}, {"image": ("a.png", b"\x89PNG", "image/png")}
        )
        assert uploaded.status == 302
        cookie, body = seen[1]
        assert cookie == "csrftoken=tok123"
        assert 'name="csrfmiddlewaretoken"\r\n\r\ntok123\r\n' in body
        assert 'name="text"\r\n\r\nhi\r\n' in body
        assert 'filename="a.png"\r\nContent-Type: image/png\r\n\r\n' in body
    finally:
        server.shutdown()
        server.server_close()


def test_no_leftovers_from_this_run():
    """Runs last in this module: nothing any test above started remains."""
    assert leftovers(f"{PREFIX}{os.getpid()}") == []
