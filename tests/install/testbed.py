"""Boot a throwaway Debian root under systemd-nspawn and talk to it over a veth.

A :class:`Testbed` is what the install tests use to watch a package install the
way it really does on a machine: maintainer scripts run under a real systemd,
services start, and the host checks them over HTTP::

    with Testbed("ubt1234a", tarball, workdir=tmp_path) as tb:
        tb.run("apt-get install -y --no-download nginx")
        status, headers, body = tb.http("/")

Each testbed gets

* its root at ``WORKDIR/NAME.root``: an overlay mount of the
  ``scripts/base-root`` tarball (unpacked once, next to the tarball, and shared
  read-only) under ``WORKDIR/NAME.upper``, which collects all the container
  writes;
* a network namespace ``NAME`` and a veth pair: ``NAME-h`` on the host with
  ``10.213.INDEX.1/30``, ``eth0`` inside with ``10.213.INDEX.2/30``, and no
  default route, so the container reaches the host side and nothing else
  (INDEX: the first one free on this host, unless given);
* its own cgroup ``NAME`` (nspawn puts itself and the container in sub-cgroups
  of the cgroup it starts in, so two testbeds must not share one);
* ``systemd-nspawn -b`` in its own session, boot messages in
  ``WORKDIR/NAME.boot.log``; commands run inside through ``nsenter``.

Everything is torn down on exit, on an exception, at interpreter exit and on
SIGTERM/SIGHUP; only processes we started are ever signalled. Every process we
start carries ``UBLOG_TESTBED=NAME`` in its environment, which is how
:func:`leftovers` finds stray ones. Needs root; a missing prerequisite raises
:class:`TestbedError` (never a skip).
"""

from __future__ import annotations

import atexit
import fcntl
import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import NamedTuple

PREFIX = "ubt"  # every testbed name starts with this; leftovers() looks for it
SUBNET = "10.213"
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ENV_MARK = "UBLOG_TESTBED"
NSPAWN_RUN = Path("/run/systemd/nspawn/propagate")

_live: set[Testbed] = set()
_live_lans: set[Lan] = set()  # LANs to delete at exit or on a signal


class TestbedError(RuntimeError):
    """The testbed could not be set up, booted or used."""

    __test__ = False  # not a pytest test class


class CommandError(TestbedError):
    """A command run inside the container failed; ``.result`` has its output."""

    def __init__(self, cmd, result: subprocess.CompletedProcess):
        self.result = result
        super().__init__(
            f"command failed inside the container (exit {result.returncode}): "
            f"{cmd!r}\n--- stdout ---\n{result.stdout}--- stderr ---\n"
            f"{result.stderr}"
        )


class Response(NamedTuple):
    """An HTTP response: unpacks as ``status, headers, body``."""

    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def _sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a host command, raising TestbedError with its stderr on failure."""
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode:
        raise TestbedError(
            f"{' '.join(argv)} failed (exit {result.returncode}): "
            f"{result.stderr.strip()}"
        )
    return result


def check_prerequisites(tarball: Path | None = None) -> None:
    """Raise TestbedError unless this host can run testbeds."""
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root")
    tools = ["systemd-nspawn", "ip", "nsenter", "tar", "mount", "umount"]
    if tarball and tarball.suffix == ".zst":
        tools.append("zstd")
    problems += [f"{tool} not found on PATH" for tool in tools if not which(tool)]
    if "\toverlay\n" not in Path("/proc/filesystems").read_text():
        problems.append("the kernel has no overlay file system")
    if tarball and not tarball.is_file():
        problems.append(f"no tarball at {tarball} (build it with scripts/base-root)")
    if problems:
        raise TestbedError("testbed prerequisites missing: " + "; ".join(problems))


def which(tool: str) -> str | None:
    """Find a host tool, also in the sbin directories a non-login PATH lacks."""
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")


def unpacked(tarball: Path) -> Path:
    """The tarball unpacked next to it (once; testbeds share it read-only)."""
    stat = tarball.stat()
    stem = tarball.name.split(".tar")[0]
    target = tarball.with_name(f"{stem}.{stat.st_mtime_ns}.root")
    if target.is_dir():
        return target
    tmp = tarball.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _sh(
            "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls",
            "-C", str(tmp), "-xf", str(tarball),
        )  # fmt: skip
        tmp.rename(target)
    except OSError:  # another run was faster
        if not target.is_dir():
            raise
    finally:
        if tmp.exists():
            _sh("rm", "-rf", "--one-file-system", str(tmp))
    return target


def _cgroup_parents() -> list[Path]:
    """The cgroup directories nspawn will nest its own cgroups under."""
    own = dict(
        line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().split()
    )
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():  # pure cgroup v2
        return [root / own[""].lstrip("/")]
    parents = [root / "systemd" / own.get("name=systemd", "/").lstrip("/")]
    if (root / "unified" / "cgroup.procs").exists():  # hybrid
        parents.append(root / "unified" / own[""].lstrip("/"))
    return parents


def _mounts() -> list[str]:
    """Mount points of this mount namespace, unescaped."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        points.append(re.sub(r"\\(\d{3})", lambda m: chr(int(m[1], 8)), point))
    return points


def _marked_pids(prefix: str, exact: bool = False) -> dict[int, str]:
    """Processes carrying ``UBLOG_TESTBED=<prefix>...``: pid -> command line."""
    found = {}
    mark = f"{ENV_MARK}={prefix}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            if any(v == mark if exact else v.startswith(mark) for v in environ):
                cmdline = (entry / "cmdline").read_bytes()
                found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode()
        except OSError:  # gone, or a kernel thread
            continue
    return found


def _is_namespace_init(pid: int) -> bool:
    """Whether ``pid`` is PID 1 of a PID namespace below ours."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return bool(re.search(r"^NSpid:.*\s1$", status, re.M))


def leftovers(prefix: str = PREFIX) -> list[str]:
    """Everything testbeds named ``prefix...`` may leave behind, still there."""
    found = [f"process {pid}: {cmd}" for pid, cmd in _marked_pids(prefix).items()]
    netns = Path("/run/netns")
    if netns.is_dir():
        found += [
            f"netns {p.name}" for p in netns.iterdir() if p.name.startswith(prefix)
        ]
    found += [
        f"link {p.name}"
        for p in Path("/sys/class/net").iterdir()
        if p.name.startswith(prefix)
    ]
    found += [
        f"mount {point}"
        for point in _mounts()
        if any(part.startswith(prefix) for part in Path(point).parts)
    ]
    for parent in [*_cgroup_parents(), NSPAWN_RUN]:
        if parent.is_dir():
            found += [f"dir {p}" for p in parent.iterdir() if p.name.startswith(prefix)]
    return found


def _cleanup_all() -> None:
    for testbed in list(_live):
        try:
            testbed.close()
        except TestbedError as e:
            print(e, file=sys.stderr)
    for lan in list(_live_lans):  # after the testbeds attached to them
        try:
            lan.close()
        except TestbedError as e:
            print(e, file=sys.stderr)


def _on_signal(signum, frame) -> None:
    """Tear down every testbed, then die of the signal as we would have."""
    _cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _on_signal)


atexit.register(_cleanup_all)


class Testbed:
    """A booted systemd-nspawn container in its own network namespace."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        name: str,
        tarball: str | os.PathLike,
        workdir: str | os.PathLike,
        index: int | None = None,
        boot_timeout: float = 90,
        binds: list[tuple[str | os.PathLike, str]] = (),
    ):
        # Interface names are at most 15 bytes: NAME-h must fit.
        if not re.fullmatch(rf"{PREFIX}[a-z0-9]{{1,10}}", name):
            raise ValueError(f"name must be {PREFIX} + 1-10 of [a-z0-9]: {name!r}")
        if index is not None and not 0 <= index <= 255:
            raise ValueError(f"index must be 0-255: {index}")
        self.name = name
        self.tarball = Path(tarball)
        self.index = index
        self.workdir = Path(workdir)
        self.root = self.workdir / f"{name}.root"
        self.upper = self.workdir / f"{name}.upper"  # all the container wrote
        self.boot_log = self.workdir / f"{name}.boot.log"
        self.boot_timeout = boot_timeout
        self.binds = [(Path(host), inside) for host, inside in binds]
        self.nspawn: subprocess.Popen | None = None
        self.init_pid: int | None = None
        self._cgroups: list[Path] = []
        self._netns = False

    @property
    def address(self) -> str:
        """The container's address, reachable from the host."""
        return f"{SUBNET}.{self.index}.2"

    @property
    def host_address(self) -> str:
        """The host's end of the veth pair, as the container sees it."""
        return f"{SUBNET}.{self.index}.1"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def __enter__(self) -> Testbed:
        _install_handlers()
        _live.add(self)
        try:
            self.start()
        except BaseException as e:
            try:
                self.close()
            except TestbedError as cleanup:
                e.add_note(str(cleanup))  # the first error is the one to see
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- setting up ----------------------------------------------------------

    def start(self) -> None:
        """Unpack the root, wire the network, boot, and wait for systemd."""
        check_prerequisites(self.tarball)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._unpack()
        self._network()
        self._boot()

    def _unpack(self) -> None:
        """Mount an overlay: the shared unpacked tarball below, ours on top."""
        lower = unpacked(self.tarball)
        for path in (self.root, self.upper, self.root.with_suffix(".work")):
            if path.exists():
                raise TestbedError(f"{path} exists: a previous run left it?")
            path.mkdir()
        options = (
            f"lowerdir={lower},upperdir={self.upper},"
            f"workdir={self.root.with_suffix('.work')}"
        )
        _sh("mount", "-t", "overlay", "overlay", "-o", options, str(self.root))

    def _network(self) -> None:
        host, netns = f"{self.name}-h", self.name
        _sh("ip", "netns", "add", netns)
        self._netns = True
        _sh("ip", "link", "add", host, "type", "veth",
            "peer", "name", "eth0", "netns", netns)  # fmt: skip
        # Pick (or check) the subnet and take it, one testbed at a time.
        lock = os.open("/run/netns", os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.index = self._free_index()
            _sh("ip", "addr", "add", f"{self.host_address}/30", "dev", host)
        finally:
            os.close(lock)
        _sh("ip", "link", "set", host, "up")
        _sh("ip", "-n", netns, "addr", "add", f"{self.address}/30", "dev", "eth0")
        _sh("ip", "-n", netns, "link", "set", "eth0", "up")
        _sh("ip", "-n", netns, "link", "set", "lo", "up")

    def _free_index(self) -> int:
        used = _sh("ip", "-o", "-4", "addr", "show").stdout
        taken = {
            int(addr.split(".")[2])
            for addr in re.findall(r"inet (\S+)/", used)
            if addr.startswith(SUBNET + ".")
        }
        if self.index is None:
            free = sorted(set(range(1, 255)) - taken)
            if not free:
                raise TestbedError(f"no free {SUBNET}.X.0/30 subnet on this host")
            return free[0]
        if self.index in taken:
            raise TestbedError(f"{SUBNET}.{self.index}.0/30 is in use on this host")
        return self.index

    def _boot(self) -> None:
        # nspawn --keep-unit creates "payload" and "supervisor" cgroups below
        # the one it starts in: give it one of its own.
        for parent in _cgroup_parents():
            (parent / self.name).mkdir(exist_ok=True)
            self._cgroups.append(parent / self.name)
        procs = [str(cg / "cgroup.procs") for cg in self._cgroups]

        def join_cgroups():
            for path in procs:
                with open(path, "w") as f:
                    f.write("0")

        argv = [
            which("systemd-nspawn"), "--boot", f"--directory={self.root}",
            f"--machine={self.name}", "--register=no", "--keep-unit",
            f"--network-namespace-path=/run/netns/{self.name}",
            "--resolv-conf=off", "--timezone=off", "--link-journal=no",
            "--console=read-only", f"--setenv={ENV_MARK}={self.name}",
            *(f"--bind={host}:{inside}" for host, inside in self.binds),
            "systemd.log_color=0",  # for the container's systemd: a plain log
        ]  # fmt: skip
        with open(self.boot_log, "wb") as log:
            self.nspawn = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=join_cgroups,
                env={**os.environ, ENV_MARK: self.name},
            )
        deadline = time.monotonic() + self.boot_timeout
        self.init_pid = self._wait_for_init(deadline)
        state, stderr = "", ""
        while time.monotonic() < deadline and self.nspawn.poll() is None:
            result = self.run(
                ["systemctl", "is-system-running", "--wait"],
                check=False,
                timeout=max(1, deadline - time.monotonic()),
            )
            state, stderr = result.stdout.strip(), result.stderr.strip()
            if state in ("running", "degraded"):
                return
            # "offline": systemd is not listening yet
            if state not in ("", "offline", "initializing", "starting"):
                break
            time.sleep(0.2)
        failed = self.run(["systemctl", "--failed", "--no-legend"], check=False)
        raise TestbedError(
            f"{self.name} did not boot (state {state!r}, {stderr!r}); "
            f"failed units:\n{failed.stdout}{self._log_tail()}"
        )

    def _wait_for_init(self, deadline: float) -> int:
        """The container's PID 1: our marked process that is a PID namespace's 1."""
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise TestbedError(
                    f"systemd-nspawn exited with {self.nspawn.returncode}"
                    + self._log_tail()
                )
            for pid in _marked_pids(self.name, exact=True):
                if _is_namespace_init(pid):
                    return pid
            time.sleep(0.05)
        raise TestbedError(f"no container init appeared{self._log_tail()}")

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.boot_log.read_text(errors="replace")
        except OSError:
            return ""
        tail = "\n".join([line for line in text.splitlines() if line][-lines:])
        return f"\n--- tail of {self.boot_log} ---\n{tail}"

    # -- using ---------------------------------------------------------------

    def run(
        self,
        cmd: list[str] | str,
        check: bool = True,
        input: str | None = None,
        timeout: float = 600,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """Run ``cmd`` inside the container (a string goes to ``sh -c``)."""
        if self.init_pid is None:
            raise TestbedError(f"{self.name} is not running")
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        environ = {
            "PATH": CONTAINER_PATH,
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "DEBIAN_FRONTEND": "noninteractive",
            ENV_MARK: self.name,
            **(env or {}),
        }
        nsenter = [which("nsenter"), "-t", str(self.init_pid), "-a", "-r", "-w"]
        try:
            result = subprocess.run(
                nsenter + argv,
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=environ,
            )
        except subprocess.TimeoutExpired as e:
            raise TestbedError(
                f"command timed out after {timeout}s inside the container: "
                f"{cmd!r}\n--- stdout ---\n{e.stdout}\n--- stderr ---\n{e.stderr}"
            ) from None
        if check and result.returncode:
            raise CommandError(cmd, result)
        return result

    def copy_in(self, host_path: str | os.PathLike, container_path: str) -> Path:
        """Copy a host file or directory to ``container_path`` in the root."""
        target = self.root / container_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if Path(host_path).is_dir():
            shutil.copytree(host_path, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(host_path, target)
        return target

    def http(self, path: str = "/", method: str = "GET", data=None, headers=None):
        """One request from the host to the container; never raises on 4xx/5xx."""
        return HttpSession(self.url).request(path, method, data, headers)

    def session(self) -> HttpSession:
        """A cookie-keeping HTTP client for this container (logins, CSRF)."""
        return HttpSession(self.url)

    # -- tearing down --------------------------------------------------------

    def close(self) -> None:
        """Stop the container and remove all it used; safe to call twice."""
        errors = []
        for step in (self._stop, self._unnetwork, self._remove_cgroups, self._unroot):
            try:
                step()
            except Exception as e:  # go on: the other steps still matter
                errors.append(f"{step.__name__}: {e}")
        _live.discard(self)
        if errors:
            raise TestbedError(f"cleanup of {self.name} failed: " + "; ".join(errors))

    def _stop(self) -> None:
        proc, init_pid, self.init_pid = self.nspawn, self.init_pid, None
        if proc is None:
            return
        if proc.poll() is None and init_pid in _marked_pids(self.name, exact=True):
            subprocess.run(
                [which("nsenter"), "-t", str(init_pid), "-a", "-r", "-w",
                 "systemctl", "poweroff", "--no-block"],
                capture_output=True, timeout=10, env={"PATH": CONTAINER_PATH},
            )  # fmt: skip
        for sig, wait in ((None, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if sig:
                proc.send_signal(sig)
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.nspawn = None
        # If nspawn died before its container (say it was SIGKILLed), kill the
        # container's PID 1, which ends its whole PID namespace.
        deadline = time.monotonic() + 10
        while (pids := _marked_pids(self.name, exact=True)) and (
            time.monotonic() < deadline
        ):
            for pid in pids:
                if _is_namespace_init(pid):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        if pids:
            raise TestbedError(f"processes of {self.name} survive: {pids}")

    def _unnetwork(self) -> None:
        if Path(f"/sys/class/net/{self.name}-h").exists():
            _sh("ip", "link", "del", f"{self.name}-h")
        if self._netns or Path(f"/run/netns/{self.name}").exists():
            _sh("ip", "netns", "del", self.name)
            self._netns = False

    def _remove_cgroups(self) -> None:
        for top in self._cgroups + [NSPAWN_RUN / self.name]:
            if not top.is_dir():
                continue
            # cgroup dirs hold only kernel files: rmdir them, deepest first.
            is_cgroup = top in self._cgroups
            for dirpath, _, files in os.walk(top, topdown=False):
                if not is_cgroup:
                    for f in files:
                        os.unlink(os.path.join(dirpath, f))
                for attempt in range(50):
                    try:
                        os.rmdir(dirpath)
                        break
                    except OSError:  # EBUSY while the last tasks exit
                        if attempt == 49:
                            raise
                        time.sleep(0.1)
        self._cgroups = []

    def _unroot(self) -> None:
        under = str(self.root) + "/"
        for point in sorted(_mounts(), reverse=True):
            inside = point == str(self.root) or point.startswith(under)
            if inside and _sh("umount", point, check=False).returncode:
                _sh("umount", "--lazy", point)
        for path in (self.root, self.upper, self.root.with_suffix(".work")):
            if path.exists():
                _sh("rm", "-rf", "--one-file-system", str(path))


class Lan:
    """A network between testbeds: a namespace ``NAME`` holding a bridge, and
    per attached testbed a veth pair (``lan0`` inside it, ``TESTBED-l`` on
    the bridge). Nothing on it reaches the host or anywhere else.

        with Lan("ubt1234lan") as lan, Testbed(...) as a, Testbed(...) as b:
            lan.attach(a, "10.214.0.1")
            lan.attach(b, "10.214.0.2")
    """

    __test__ = False

    def __init__(self, name: str, prefix_length: int = 24):
        if not re.fullmatch(rf"{PREFIX}[a-z0-9]{{1,10}}", name):
            raise ValueError(f"name must be {PREFIX} + 1-10 of [a-z0-9]: {name!r}")
        self.name = name
        self.prefix_length = prefix_length
        self._made = False

    def __enter__(self) -> Lan:
        _install_handlers()
        _sh("ip", "netns", "add", self.name)
        self._made = True
        _live_lans.add(self)
        try:
            _sh("ip", "-n", self.name, "link", "add", "br0", "type", "bridge")
            _sh("ip", "-n", self.name, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def attach(self, testbed: Testbed, address: str) -> None:
        """Give ``testbed`` the interface ``lan0`` with ``address`` on this LAN."""
        outside = f"{testbed.name}-l"
        _sh("ip", "link", "add", outside, "type", "veth",
            "peer", "name", "lan0", "netns", testbed.name)  # fmt: skip
        _sh("ip", "link", "set", outside, "netns", self.name)
        _sh("ip", "-n", self.name, "link", "set", outside, "master", "br0")
        _sh("ip", "-n", self.name, "link", "set", outside, "up")
        _sh("ip", "-n", testbed.name, "addr", "add",
            f"{address}/{self.prefix_length}", "dev", "lan0")  # fmt: skip
        _sh("ip", "-n", testbed.name, "link", "set", "lan0", "up")

    def close(self) -> None:
        """Delete the namespace (its bridge and veth ends go with it)."""
        if self._made:
            _sh("ip", "netns", "delete", self.name)
            self._made = False
        _live_lans.discard(self)


class HttpSession:
    """A tiny HTTP client for tests: keeps cookies, never uses a proxy.

    Django forms want the CSRF token: ``post_form`` copies it from the
    ``csrftoken`` cookie (GET the form page first).
    """

    def __init__(self, base_url: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        handlers = [
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.cookies),
        ]
        self._follow = urllib.request.build_opener(*handlers)
        self._stay = urllib.request.build_opener(*handlers, _NoRedirect())

    def request(
        self,
        path: str,
        method: str = "GET",
        data: dict | bytes | str | None = None,
        headers: dict | None = None,
        follow: bool = True,
    ) -> Response:
        """Send a request; ``data`` as a dict is form-encoded."""
        headers = dict(headers or {})
        if isinstance(data, dict):
            data = urllib.parse.urlencode(data, doseq=True)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if isinstance(data, str):
            data = data.encode()
        req = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        opener = self._follow if follow else self._stay
        try:
            with opener.open(req, timeout=self.timeout) as resp:
                return Response(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as e:
            with e:
                return Response(e.code, dict(e.headers), e.read())

    def get(self, path: str, **kwargs) -> Response:
        return self.request(path, **kwargs)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def post_form(self, path: str, fields: dict, **kwargs) -> Response:
        """POST a form with Django's CSRF token (from the cookie) filled in."""
        token = self.cookie("csrftoken")
        if token:
            fields = {"csrfmiddlewaretoken": token, **fields}
        headers = {"Referer": self.base_url + path, **kwargs.pop("headers", {})}
        return self.request(path, "POST", fields, headers, **kwargs)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx responses back instead of following them."""

    def redirect_request(self, *args, **kwargs):
        return None
