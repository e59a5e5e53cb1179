"""What the packages ship agrees with what they say about it.

Read from the built artifacts themselves (no container): every path of
ublog's own that a shipped systemd unit names exists in that package (the
RPM's gunicorn settings once lay where its unit never looked), or is one
the setup creates; every ``Files:`` pattern of each .deb's copyright file
matches a file that .deb ships (one release's once named another's Python
paths); the files both formats install from packaging/shared/ are the same
bytes in each.
"""

import fnmatch
import gzip
import re

import pytest
from support.payloads import payload_of_deb, payload_of_rpm
from ublog_build import deb as debs
from ublog_build.paths import DIST, ROOT
from ublog_build.releases import RELEASES

SHARED = ROOT / "packaging" / "shared"
#: ublog's own places on the target system.
OWN = ("/opt/venvs/ublog", "/etc/ublog", "/usr/share/ublog", "/var/lib/ublog")
#: Paths the units name that no package ships: `ublog-ctl setup` makes them
#: on installation (checked by the install tests), or systemd does.
MADE_AT_INSTALL = {
    "/var/lib/ublog": "setup makes it (the data directory, the units' cwd)",
    "/etc/ublog/ublog.conf": "setup writes it, with a generated secret",
    "/var/lib/ublog/media": "setup makes it (service-writable)",
    "/var/backups/ublog": "backups (InaccessiblePaths=-: may be missing)",
    "/etc/ublog/nginx.d": "setup makes it (the nginx snippets ublog-lb-check rewrites)",
}
#: Unit settings that are prose, not paths.
PROSE = ("Description", "Documentation")


def unit_paths(unit: str) -> set[str]:
    """The absolute paths under ublog's own places a unit names."""
    found = set()
    for line in unit.splitlines():
        if line.startswith("#") or "=" not in line or line.startswith(PROSE):
            continue
        for word in re.split(r"[\s=]+", line.split("=", 1)[1]):
            word = word.lstrip("-+!@")
            if word.startswith(OWN):
                found.add(word.rstrip("/"))
    return found


def check_units(files: dict[str, bytes | None], label: str) -> list[str]:
    units = {
        name: data.decode()
        for name, data in files.items()
        if re.search(r"/systemd/system/ublog[^/]*\.(service|socket|timer|path)$", name)
        and data is not None
    }
    assert len(units) == 10, f"{label}: units shipped: {sorted(units)}"
    named = set().union(*(unit_paths(text) for text in units.values()))
    assert "/opt/venvs/ublog/bin/gunicorn" in named
    missing = sorted(
        path for path in named if path not in files and path not in MADE_AT_INSTALL
    )
    return [f"{label}: {path} named by a unit, not shipped" for path in missing]


@pytest.fixture(scope="module")
def deb_payloads():
    return {r.codename: payload_of_deb(debs.release_deb(r)) for r in RELEASES}


@pytest.fixture(scope="module")
def rpm_payload(tmp_path_factory):
    (rpm,) = sorted((DIST / "rpm").glob("ublog-*.x86_64.rpm"))
    return payload_of_rpm(rpm, tmp_path_factory.mktemp("rpm"))


def test_every_path_a_unit_names_is_shipped_or_made_at_install(
    deb_payloads, rpm_payload
):
    problems = []
    for codename, files in deb_payloads.items():
        problems += check_units(files, f"{codename} .deb")
    problems += check_units(rpm_payload, "RPM")
    assert not problems, "\n".join(problems)


def test_shared_files_are_installed_unchanged_by_both_formats(
    deb_payloads, rpm_payload
):
    installed = {}
    for unit in (SHARED / "systemd").iterdir():
        installed[f"systemd/{unit.name}"] = [
            f"/lib/systemd/system/{unit.name}",
            f"/usr/lib/systemd/system/{unit.name}",
        ]
    for label, files in [*deb_payloads.items(), ("RPM", rpm_payload)]:
        for source, places in installed.items():
            shipped = [files[p] for p in places if files.get(p) is not None]
            assert shipped == [(SHARED / source).read_bytes()], (label, source)
        man = files["/usr/share/man/man8/ublog-ctl.8.gz"]
        assert gzip.decompress(man) == (SHARED / "ublog-ctl.8").read_bytes(), label


def test_every_copyright_pattern_matches_what_the_deb_ships(deb_payloads):
    for codename, files in deb_payloads.items():
        copyright = files["/usr/share/doc/ublog/copyright"].decode()
        patterns = [
            pattern
            for line in copyright.splitlines()
            if line.startswith("Files:")
            for pattern in line.split(":", 1)[1].split()
        ]
        assert len(patterns) >= 2, copyright
        shipped = [name.lstrip("/") for name, data in files.items() if data]
        for pattern in patterns:
            matches = [name for name in shipped if fnmatch.fnmatchcase(name, pattern)]
            assert matches, f"{codename}: copyright pattern {pattern!r} matches nothing"
