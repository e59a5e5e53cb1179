"""debian/changelog: the upstream version, and the entries the pipeline adds.

A release's .deb gets an entry on top (``dch -l`` style: the version with
the release's suffix, the release as distribution), as does the "next
version" the upgrade test installs. Nothing else in debian/ is edited.
"""

import email.utils
from pathlib import Path

from .releases import Release

AUTHOR = "ublog developers <dev@ublog.invalid>"


def top_version(changelog: Path) -> str:
    """The version of the first entry: ``ublog (0.1.0) ...`` gives 0.1.0."""
    first = changelog.read_text().split("\n", 1)[0]
    return first.split("(", 1)[1].split(")", 1)[0]


def entry(version: str, distribution: str, change: str, epoch: int) -> str:
    """One changelog entry dated ``epoch``."""
    # RFC 2822 in UTC, as ``date -u -R`` writes it (never the locale's names).
    date = email.utils.formatdate(epoch).replace("-0000", "+0000")
    return (
        f"ublog ({version}) {distribution}; urgency=medium\n\n"
        f"  * {change}\n\n"
        f" -- {AUTHOR}  {date}\n\n"
    )


def prepend(changelog: Path, version: str, distribution: str, change: str, epoch: int):
    """Put an entry on top of ``changelog``."""
    text = changelog.read_text()
    changelog.write_text(entry(version, distribution, change, epoch) + text)


def prepend_release(changelog: Path, release: Release, epoch: int) -> str:
    """The entry of a release's build: ``0.1.0+deb12u1 <codename>``."""
    version = release.deb_version(top_version(changelog))
    change = f"Built for {release.label}, with its python{release.python}."
    prepend(changelog, version, release.codename, change, epoch)
    return version
