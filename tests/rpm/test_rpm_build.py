"""The RPM that `make rpm` built: its metadata, its payload, and that it
rebuilds byte for byte.

* Provides are only the package's own name (no library leaks from the
  venv), Requires are the declared ones plus the sonames rpm's ELF
  dependency generator found, the configuration files are flagged as the
  spec says;
* the compiled modules (Pillow, psycopg-c) link to the system's libraries,
  each required by soname: nothing bundled;
* no file of the payload names the build tree (shebangs, pyvenv.cfg, RECORD,
  byte-code), the venv's interpreter is the release table's RPM Python
  (/usr/bin/python3.X) and every .pyc is a checked-hash one compiled for its
  installed path;
* a second build with the same SOURCE_DATE_EPOCH in another temporary build
  tree gives the same bytes.
"""

import base64
import csv
import hashlib
import io
import posixpath
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
from rpmroot import PYTHON, SONAMES, rpm_query, rpm_requires, run
from support.elf import bundling_problems, elf_files
from ublog_build.paths import ROOT
from ublog_build.releases import RPM_PYTHON

VENV = "opt/venvs/ublog"
SITE = f"{VENV}/lib/python{RPM_PYTHON}/site-packages"
#: The byte-code tag of the RPM's Python: cpython-3XY.
PYC_TAG = "cpython-" + RPM_PYTHON.replace(".", "")


@pytest.fixture(scope="module")
def payload(dist_rpm) -> dict[str, tarfile.TarInfo | bytes]:
    """The payload as {path: TarInfo}, plus the regular files' bytes."""
    tar_bytes = subprocess.run(
        ["rpm2archive", "-n", "-"],
        stdin=dist_rpm.open("rb"),
        capture_output=True,
        check=True,
    ).stdout
    members, contents = {}, {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for info in tar:
            path = info.name.removeprefix("./").rstrip("/")
            members[path] = info
            if info.isfile():
                contents[path] = tar.extractfile(info).read()
    return {"members": members, "contents": contents}


def test_file_name_and_version_follow_the_site_wheel(dist_rpm):
    (wheel,) = (ROOT / "dist" / "python").glob("ublog_site-*.whl")
    version = wheel.name.split("-")[1]
    assert dist_rpm.name == f"ublog-{version}-1.x86_64.rpm"
    assert rpm_query(dist_rpm, "%{NAME} %{VERSION} %{RELEASE} %{ARCH}") == (
        f"ublog {version} 1 x86_64"
    )


def test_provides_only_itself_and_requires_what_it_declares(dist_rpm):
    evr = rpm_query(dist_rpm, "%{VERSION}-%{RELEASE}")
    provides = run(["rpm", "-qp", "--provides", str(dist_rpm)]).stdout.split("\n")
    assert sorted(filter(None, provides)) == [
        f"config(ublog) = {evr}",
        f"ublog = {evr}",
        f"ublog(x86-64) = {evr}",
    ]
    requires = rpm_requires(dist_rpm)
    libraries = {name for name in requires if ".so." in name}
    assert {name.split("(")[0] for name in libraries} == SONAMES.keys()
    assert requires - libraries == {
        "/bin/sh",
        PYTHON,
        "config(ublog)",
        "rtld(GNU_HASH)",
        "nginx",
        "openssl",  # [tls] mode = self-signed makes its pair with it on EL
        "postgresql",
        "postgresql-server",
        "shadow-utils",
        "systemd",
        "util-linux",
    }
    # A weak dependency: mail waits in the outbox until an MTA takes it.
    recommends = run(["rpm", "-qp", "--recommends", str(dist_rpm)]).stdout
    assert recommends.split() == ["MTA"]
    # [tls] mode = acme: certbot's nginx plugin (EPEL), asked for by name.
    suggests = run(["rpm", "-qp", "--suggests", str(dist_rpm)]).stdout
    assert suggests.split() == ["python3-certbot-nginx"]
    scripts = run(["rpm", "-qp", "--scripts", str(dist_rpm)]).stdout
    for phase in ("preinstall", "postinstall", "preuninstall", "postuninstall"):
        assert f"{phase} scriptlet (using /bin/sh)" in scripts
    assert "ublog-ctl setup --maintainer-script" in scripts
    assert "ublog-ctl unsetup --maintainer-script" in scripts


def test_files_flags_modes_and_owners(dist_rpm):
    fmt = (
        "[%{FILEFLAGS:fflags}\t%{FILEMODES:perms}\t"
        "%{FILEUSERNAME}:%{FILEGROUPNAME}\t%{FILENAMES}\n]"
    )
    files = {}
    for line in rpm_query(dist_rpm, fmt).splitlines():
        flags, mode, owner, name = line.split("\t")
        files[name] = (flags, mode, owner)
    # Generated at install (secret key), owned but not shipped, never replaced.
    assert files["/etc/ublog/ublog.conf"] == ("cng", "-rw-r-----", "root:ublog")
    assert files["/etc/ublog"] == ("", "drwxr-x---", "root:ublog")
    # Written by setup from ublog.conf: owned, not shipped, no %config.
    assert files["/etc/nginx/conf.d/ublog.conf"] == ("g", "-rw-r--r--", "root:root")
    assert "/etc/ublog/gunicorn.conf.py" not in files
    for unit in UNITS:
        assert files[f"/usr/lib/systemd/system/{unit}"][0] == ""
    assert "/var/lib/ublog" in files
    assert not [n for n in files if n.startswith("/usr/lib/.build-id")]
    # Nothing of the package is owned by anyone but root (the group aside).
    assert {owner.split(":")[0] for _, _, owner in files.values()} == {"root"}


#: The systemd units the package ships.
UNITS = (
    "ublog.service",
    "ublog.socket",
    "ublog-mailer.service",
    "ublog-cleanup.service",
    "ublog-cleanup.timer",
    "ublog-backup.service",
    "ublog-backup.timer",
    "ublog-tls-reload.path",
    "ublog-tls-reload.service",
    "ublog-lb-check.service",
)


def test_unit_and_nginx_files_are_the_shared_ones_with_an_el_drop_in(payload):
    """The units are packaging/shared/'s, as in the .deb; what differs on
    EL is a drop-in: nginx's group there is nginx."""
    contents = payload["contents"]
    shared = ROOT / "packaging" / "shared"
    for unit in UNITS:
        shipped = contents[f"usr/lib/systemd/system/{unit}"]
        assert shipped == (shared / "systemd" / unit).read_bytes(), unit
        assert b"README.Debian" not in shipped, unit
    dropin = contents["usr/lib/systemd/system/ublog.socket.d/nginx-group.conf"]
    assert "[Socket]\nSocketGroup=nginx\n" in dropin.decode()
    service = contents["usr/lib/systemd/system/ublog.service"].decode()
    assert (
        "ExecStart=/opt/venvs/ublog/bin/gunicorn --config python:ublog_site."
        "gunicorn_conf ublog_site.wsgi\n"
    ) in service
    mailer = contents["usr/lib/systemd/system/ublog-mailer.service"].decode()
    assert "ExecStart=/opt/venvs/ublog/bin/ublog-ctl delivermail --loop\n" in mailer
    assert "etc/nginx/conf.d/ublog.conf" not in contents  # setup writes it


def test_no_build_path_in_any_file(payload):
    """The build tree was /tmp/ublog-rpmbuild.XXXXXX/BUILDROOT/...: no trace."""
    markers = (b"ublog-rpmbuild", b"BUILDROOT", b"/rpmbuild/")
    offenders = [
        path
        for path, data in payload["contents"].items()
        if any(marker in data for marker in markers)
    ]
    assert offenders == []


def test_venv_points_at_the_installed_paths(payload):
    members, contents = payload["members"], payload["contents"]
    cfg = contents[f"{VENV}/pyvenv.cfg"].decode()
    assert "home = /usr/bin\n" in cfg
    assert f"executable = {PYTHON}\n" in cfg
    assert f"command = {PYTHON} -m venv /opt/venvs/ublog\n" in cfg
    assert members[f"{VENV}/bin/python{RPM_PYTHON}"].linkname == PYTHON
    assert (
        members["usr/sbin/ublog-ctl"].linkname == "../../opt/venvs/ublog/bin/ublog-ctl"
    )
    scripts = [
        p for p, i in members.items() if p.startswith(f"{VENV}/bin/") and i.isfile()
    ]
    assert {Path(p).name for p in scripts} >= {"ublog-ctl", "gunicorn"}
    for path in scripts:
        first = contents[path].split(b"\n", 1)[0]
        assert first == b"#!/opt/venvs/ublog/bin/python", (path, first)
    # pip, setuptools and the activate scripts are build-time only.
    assert not [
        p
        for p in members
        if re.match(rf"{SITE}/(pip|setuptools|pkg_resources)(/|-)", p)
        or re.match(rf"{VENV}/bin/(pip|activate)", p)
    ]


def test_every_record_matches_the_shipped_files(payload):
    """RECORD hashes and sizes hold for every file, the rewritten scripts too."""
    contents = payload["contents"]
    records = [p for p in contents if re.match(rf"{SITE}/[^/]+\.dist-info/RECORD$", p)]
    pins = (ROOT / "requirements" / "deb.txt").read_text()
    pinned = re.findall(r"^[a-z]", pins, re.M)
    assert len(records) == len(pinned) + 3  # the pinned dependencies + our wheels
    wrong = []
    for record in records:
        rows = csv.reader(io.StringIO(contents[record].decode()))
        for path, digest, size in rows:
            if not digest:
                continue
            target = posixpath.normpath(posixpath.join(SITE, path))
            data = contents.get(target)
            b64 = base64.urlsafe_b64encode(hashlib.sha256(data or b"").digest())
            if data is None or (digest, size) != (
                "sha256=" + b64.rstrip(b"=").decode(),
                str(len(data)),
            ):
                wrong.append(target)
    assert wrong == []


def test_bytecode_is_checked_hash_for_the_installed_paths(payload):
    contents = payload["contents"]
    pycs = {p: d for p, d in contents.items() if p.endswith(".pyc")}
    assert len(pycs) > 1000
    # PEP 552 flags: 0b11 = hash-based, checked against the source.
    unchecked = [p for p, d in pycs.items() if int.from_bytes(d[4:8], "little") != 3]
    assert unchecked == []
    elsewhere = [p for p, d in pycs.items() if b"/opt/venvs/ublog/lib/" not in d]
    assert elsewhere == []
    sources = {p for p in contents if p.endswith(".py") and p.startswith(SITE)}
    compiled = {
        re.sub(rf"__pycache__/([^/]+)\.{PYC_TAG}\.pyc$", r"\1.py", p) for p in pycs
    }
    assert sorted(sources - compiled) == []


def test_same_source_date_epoch_gives_identical_bytes(dist_rpm, rpm_builds):
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert rpm_builds.rebuild.name == dist_rpm.name
    if digest(rpm_builds.rebuild) != digest(dist_rpm):
        dumps = [
            run(["rpm", "-qp", "--dump", str(p)]).stdout.splitlines()
            for p in (dist_rpm, rpm_builds.rebuild)
        ]
        differing = sorted(set(dumps[0]) ^ set(dumps[1]))[:20]
        pytest.fail(
            f"the rebuild differs from {dist_rpm} (older than dist/python? run "
            f"`make rpm`); rpm --dump lines that differ: {differing}"
        )


def test_compiled_modules_link_to_the_system_libraries(payload, dist_rpm):
    """Every ELF file is an extension module; each library it needs is
    required by soname (rpm's generator), none is shipped in the venv."""
    elves = elf_files(payload["contents"])
    assert not bundling_problems(list(payload["members"]), elves)
    modules = {Path(path).name.split(".")[0] for path in elves}
    assert {"_imaging", "_webp", "_psycopg", "pq"} <= modules, sorted(elves)
    requires = rpm_requires(dist_rpm)
    for path, libraries in elves.items():
        for library in libraries:
            assert f"{library}()(64bit)" in requires, (path, library)
    linked = {library for libraries in elves.values() for library in libraries}
    assert {"libpq.so.5", "libjpeg.so.62", "libwebp.so.7", "libz.so.1"} <= linked
