"""Reading Debian relationship fields: package names, the way apt picks them.

``debian/control``'s Build-Depends say what a build chroot needs installed
beforehand (pbuilder's base, the per-app build root); a built .deb's
Depends and Recommends say what a test root prefetches.
"""

import re
from pathlib import Path

#: Build-Depends written for dh's sake that name no package to install.
_PACKAGE_OF = {"debhelper-compat": "debhelper"}


def names(field: str) -> list[str]:
    """The package of each relation in ``field``, its first alternative,
    without version, architecture or build-profile restrictions; sorted."""
    found = set()
    for relation in field.split(","):
        first = relation.split("|")[0].strip()
        if not first or first.startswith("$"):
            continue
        name = re.split(r"[\s(\[<:]", first, maxsplit=1)[0]
        found.add(_PACKAGE_OF.get(name, name))
    return sorted(found)


def source_field(control: Path, name: str) -> str:
    """A field of the source paragraph (the first) of a debian/control."""
    paragraph = control.read_text().split("\n\n", 1)[0]
    value = []
    for line in paragraph.splitlines():
        if line.startswith("#"):
            continue
        if value and line[:1] in (" ", "\t"):
            value.append(line.strip())
        elif value:
            break
        elif line.lower().startswith(name.lower() + ":"):
            value.append(line.split(":", 1)[1].strip())
    return " ".join(value)


def build_depends(control: Path) -> list[str]:
    """The packages debian/control's Build-Depends name."""
    return names(source_field(control, "Build-Depends"))
