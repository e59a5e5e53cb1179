"""Boot a throwaway Debian root under systemd-nspawn and talk to it over a veth.

A :class:`Testbed` is what the install tests use to watch a package install the
way it really does on a machine: maintainer scripts run under a real systemd,
services start, and the host checks them over HTTP::

    with Testbed(new_name(), tarball, workdir=tmp_path) as tb:
        tb.run("apt-get install -y --no-download nginx")
        status, headers, body = tb.http("/")

Each testbed gets

* its root at ``WORKDIR/NAME.root``: an overlay mount of the base-root
  tarball (unpacked once, next to the tarball, and shared read-only: see
  :mod:`support.rootfs`) under ``WORKDIR/NAME.upper``, which collects all
  the container writes;
* a network namespace ``NAME`` and a veth pair: ``NAME-h`` on the host with
  ``10.213.INDEX.1/30``, ``eth0`` inside with ``10.213.INDEX.2/30``, and no
  default route, so the container reaches the host side and nothing else
  (INDEX: the first one free on this host, unless given);
* its own cgroup ``NAME`` (nspawn puts itself and the container in sub-cgroups
  of the cgroup it starts in, so two testbeds must not share one);
* ``systemd-nspawn -b`` in its own session, boot messages in
  ``WORKDIR/NAME.boot.log``; commands run inside through ``nsenter``.

Everything is torn down on exit, on an exception, at interpreter exit and on
SIGTERM/SIGHUP (:mod:`support.teardown`); only processes we started are ever
signalled: every one carries the mark of :mod:`support.leftovers`. Needs
root; a missing prerequisite raises :class:`TestbedError` (never a skip).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from support import teardown
from support.errors import CommandError, TestbedError
from support.host import cgroup_parents, check_prerequisites, mounts, sh, which
from support.httpclient import HttpSession
from support.leftovers import (
    ENV_MARK,
    NSPAWN_RUN,
    PREFIX,
    is_namespace_init,
    marked_pids,
)
from support.rootfs import unpacked

SUBNET = "10.213"
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NAME_PATTERN = rf"{PREFIX}[a-z0-9]{{1,10}}"  # NAME-h must fit in 15 bytes


def check_name(name: str) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValueError(f"name must be {PREFIX} + 1-10 of [a-z0-9]: {name!r}")
    return name


class Testbed:
    """A booted systemd-nspawn container in its own network namespace."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        name: str,
        tarball: str | os.PathLike | None,
        workdir: str | os.PathLike,
        index: int | None = None,
        boot_timeout: float = 90,
        binds: list[tuple[str | os.PathLike, str]] = (),
        lowers: list[str | os.PathLike] = (),
    ):
        """``tarball``: a base root, unpacked below the container; or, with
        ``tarball=None``, ``lowers``: the directories of a root already made
        (topmost first, as overlayfs stacks them; none is written)."""
        if index is not None and not 0 <= index <= 255:
            raise ValueError(f"index must be 0-255: {index}")
        if (tarball is None) == (not lowers):
            raise ValueError("give a tarball or lower directories, not both")
        self.name = check_name(name)
        self.tarball = Path(tarball) if tarball is not None else None
        self.lowers = [Path(lower) for lower in lowers]
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
        teardown.track(self, "testbed")
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
        """Mount an overlay: the shared unpacked tarball (or the lower
        directories) below, ours on top."""
        if self.tarball is not None:
            lower = str(unpacked(self.tarball))
        else:
            lower = ":".join(str(path) for path in self.lowers)
        for path in (self.root, self.upper, self.root.with_suffix(".work")):
            if path.exists():
                raise TestbedError(f"{path} exists: a previous run left it?")
            path.mkdir()
        options = (
            f"lowerdir={lower},upperdir={self.upper},"
            f"workdir={self.root.with_suffix('.work')}"
        )
        sh("mount", "-t", "overlay", "overlay", "-o", options, str(self.root))

    def _network(self) -> None:
        host, netns = f"{self.name}-h", self.name
        sh("ip", "netns", "add", netns)
        self._netns = True
        sh("ip", "link", "add", host, "type", "veth",
           "peer", "name", "eth0", "netns", netns)  # fmt: skip
        # Pick (or check) the subnet and take it, one testbed at a time.
        lock = os.open("/run/netns", os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.index = self._free_index()
            sh("ip", "addr", "add", f"{self.host_address}/30", "dev", host)
        finally:
            os.close(lock)
        sh("ip", "link", "set", host, "up")
        sh("ip", "-n", netns, "addr", "add", f"{self.address}/30", "dev", "eth0")
        sh("ip", "-n", netns, "link", "set", "eth0", "up")
        sh("ip", "-n", netns, "link", "set", "lo", "up")

    def _free_index(self) -> int:
        used = sh("ip", "-o", "-4", "addr", "show").stdout
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
        for parent in cgroup_parents():
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
            for pid in marked_pids(self.name, exact=True):
                if is_namespace_init(pid):
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
        return self.session().request(path, method, data, headers)

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
        teardown.forget(self)
        if errors:
            raise TestbedError(f"cleanup of {self.name} failed: " + "; ".join(errors))

    def _stop(self) -> None:
        proc, init_pid, self.init_pid = self.nspawn, self.init_pid, None
        if proc is None:
            return
        if proc.poll() is None and init_pid in marked_pids(self.name, exact=True):
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
        while (pids := marked_pids(self.name, exact=True)) and (
            time.monotonic() < deadline
        ):
            for pid in pids:
                if is_namespace_init(pid):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        if pids:
            raise TestbedError(f"processes of {self.name} survive: {pids}")

    def _unnetwork(self) -> None:
        if Path(f"/sys/class/net/{self.name}-h").exists():
            sh("ip", "link", "del", f"{self.name}-h")
        if self._netns or Path(f"/run/netns/{self.name}").exists():
            sh("ip", "netns", "del", self.name)
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
        for point in sorted(mounts(), reverse=True):
            inside = point == str(self.root) or point.startswith(under)
            if inside and sh("umount", point, check=False).returncode:
                sh("umount", "--lazy", point)
        for path in (self.root, self.upper, self.root.with_suffix(".work")):
            if path.exists():
                sh("rm", "-rf", "--one-file-system", str(path))
