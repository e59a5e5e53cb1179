"""ublog_site.system.libraries: libraries replaced under a running process.

A real process maps a real shared library (a copy of the system's zlib,
loaded with ctypes); the copy is then replaced on disk the way dpkg
replaces a file (a new file renamed over it), and the running process is
found still mapping the deleted one, while a process started afterwards
is not.
"""

import ctypes.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ublog_site.system.libraries import (
    cgroup_pids,
    replaced_in_maps,
    replaced_libraries,
)

LOADER = (
    "import ctypes, sys; ctypes.CDLL(sys.argv[1]); print('loaded', flush=True); "
    "sys.stdin.read()"
)


def system_zlib() -> Path:
    name = ctypes.util.find_library("z")
    if name is None:
        pytest.fail("no zlib on this host: ctypes.util.find_library('z') is None")
    for directory in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib"):
        if (Path(directory) / name).exists():
            return (Path(directory) / name).resolve()
    pytest.fail(f"{name} not found in the library directories")


def start_loader(library: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", LOADER, str(library)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "loaded"
    return process


def stop(process: subprocess.Popen) -> None:
    process.stdin.close()
    process.wait(timeout=10)


def replace_like_dpkg(path: Path) -> None:
    """A new file with new content renamed over ``path``."""
    new = path.with_name(path.name + ".dpkg-new")
    new.write_bytes(path.read_bytes() + b"\0rebuilt")
    os.replace(new, path)


def test_a_running_process_maps_the_replaced_library_until_it_restarts(tmp_path):
    library = tmp_path / "libz.so.1.2.13"
    shutil.copy2(system_zlib(), library)
    before = start_loader(library)
    try:
        assert replaced_libraries([before.pid]) == set()
        replace_like_dpkg(library)
        assert replaced_libraries([before.pid]) == {str(library)}
        after = start_loader(library)
        try:
            assert replaced_libraries([after.pid]) == set()
            both = replaced_libraries([before.pid, after.pid])
            assert both == {str(library)}
        finally:
            stop(after)
    finally:
        stop(before)
    # A process that ended is skipped, not an error.
    deadline = time.monotonic() + 5
    while Path(f"/proc/{before.pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert replaced_libraries([before.pid]) == set()


def test_only_deleted_shared_objects_count():
    maps = "\n".join(
        [
            "7f0000000000-7f0000001000 r--p 00000000 08:01 42 "
            "/usr/lib/x86_64-linux-gnu/libpq.so.5.15 (deleted)",
            "7f0000001000-7f0000002000 r-xp 00001000 08:01 43 "
            "/usr/lib/x86_64-linux-gnu/libwebp.so.7.1.5",
            "7f0000002000-7f0000003000 rw-s 00000000 00:05 44 /dev/shm/x (deleted)",
            "7f0000003000-7f0000004000 r--p 00000000 08:01 45 "
            "/opt/venvs/ublog/lib/python3.11/site-packages/PIL/"
            "_imaging.cpython-311-x86_64-linux-gnu.so (deleted)",
            "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]",
        ]
    )
    assert replaced_in_maps(maps) == {
        "/usr/lib/x86_64-linux-gnu/libpq.so.5.15",
        "/opt/venvs/ublog/lib/python3.11/site-packages/PIL/"
        "_imaging.cpython-311-x86_64-linux-gnu.so",
    }


def test_the_processes_of_a_control_group_are_read_from_cgroup_procs(tmp_path):
    """From the first hierarchy that has the group: the unified one, or
    systemd's named one of the legacy layout."""
    unified, legacy = tmp_path / "unified", tmp_path / "systemd"
    group = legacy / "system.slice" / "ublog.service"
    group.mkdir(parents=True)
    (group / "cgroup.procs").write_text("101\n102\n")
    roots = (unified, legacy)
    assert cgroup_pids("/system.slice/ublog.service", roots) == [101, 102]
    assert cgroup_pids("/system.slice/missing.service", roots) == []
    group = unified / "system.slice" / "ublog.service"
    group.mkdir(parents=True)
    (group / "cgroup.procs").write_text("7\n")
    assert cgroup_pids("/system.slice/ublog.service", roots) == [7]


def test_this_process_is_found_in_its_own_control_group():
    """The real hierarchy of this host: this process's group lists it."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    group = next(
        line.split(":", 2)[2]
        for line in lines
        if line.startswith("0::") or line.split(":")[1] == "name=systemd"
    )
    assert os.getpid() in cgroup_pids(group)
