"""THE release table: every Debian release ublog is built for, and its facts.

Everything that needs a release fact reads it here: the Makefile (through
``ublog-build releases``), the .deb, .rpm and repository builders, the test
base roots and the tests. A search for a codename or a Python version
outside this module, changelogs and prose docs finds nothing.

A release's .deb carries its number in the version, like Debian's own
stable updates (``0.1.0+deb12u1``), so the releases sort across an upgrade
of the distribution and live side by side in one repository.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

#: Debian's mirror every chroot and root is made from (``MIRROR`` overrides).
MIRROR = "http://deb.debian.org/debian"
#: And its security archive.
SECURITY_MIRROR = "http://deb.debian.org/debian-security"


@dataclass(frozen=True)
class Release:
    """One Debian release ublog is built for."""

    #: Debian's codename: the suite of its archive.
    codename: str
    #: The release number: 12 for Debian 12.
    number: int
    #: The release's ``python3`` (major.minor): the venv's interpreter.
    python: str
    #: The PostgreSQL major version the release's ``postgresql`` installs.
    postgresql: int
    #: The release's ``python3-django`` (major.minor): the per-app .debs
    #: (``make app-debs``) build on the first release that satisfies them.
    django: str = ""

    @property
    def version_suffix(self) -> str:
        """Appended to the upstream version of this release's .deb."""
        return f"+deb{self.number}u1"

    def deb_version(self, upstream: str) -> str:
        return f"{upstream}{self.version_suffix}"

    @property
    def python_abi(self) -> str:
        """The CPython wheel tag of its Python: ``cp311``."""
        return "cp" + self.python.replace(".", "")

    @property
    def label(self) -> str:
        return f"Debian {self.number} ({self.codename})"


#: Oldest first. The first is also the release of the build host.
RELEASES: tuple[Release, ...] = (
    Release("bookworm", 12, "3.11", 15, django="3.2"),
    Release("trixie", 13, "3.13", 17, django="4.2"),
)

#: The CPython of the RPM's venv (EL 8.8+/9 ship it as the python3.11
#: package next to their platform Python) and of the offline PEP 503 index.
RPM_PYTHON = "3.11"

#: The Pythons of the tox matrix (not a release fact: what the apps support).
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


class UnknownRelease(LookupError):
    """A codename or number that is not in the table."""


def by_codename(codename: str) -> Release:
    for release in RELEASES:
        if release.codename == codename:
            return release
    known = ", ".join(r.codename for r in RELEASES)
    raise UnknownRelease(f"no Debian release {codename!r} in the table ({known})")


def by_number(number: int) -> Release:
    for release in RELEASES:
        if release.number == number:
            return release
    known = ", ".join(str(r.number) for r in RELEASES)
    raise UnknownRelease(f"no Debian {number} in the table ({known})")


def of_deb_version(version: str) -> Release:
    """The release a ublog .deb version was built for (``+deb13u1``)."""
    for release in RELEASES:
        if release.version_suffix.rstrip("1") in version:
            return release
    raise UnknownRelease(f"{version!r} names no release of the table")


def lookup(release: Release | str | int) -> Release:
    """A release from itself, its codename, its number or ``"host"``."""
    if isinstance(release, Release):
        return release
    if release == "host":
        return host()
    if isinstance(release, int) or str(release).isdigit():
        return by_number(int(release))
    return by_codename(release)


def host() -> Release:
    """The release of this machine (the build host), or the oldest one."""
    try:
        fields = platform.freedesktop_os_release()
    except OSError:
        fields = {}
    codename = fields.get("VERSION_CODENAME", "")
    try:
        return by_codename(codename)
    except UnknownRelease:
        return RELEASES[0]
