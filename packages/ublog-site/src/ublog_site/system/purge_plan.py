"""What ``apt purge ublog`` may drop, written while ublog's code is there.

Debian's postrm runs ``purge`` after the venv is gone, so it cannot read
``ublog.conf`` the way :mod:`ublog_site.config` does (and a second reading,
in shell, disagreed with this one: a socket directory as ``host`` is local).
``ublog-ctl setup`` and ``unsetup`` therefore write :data:`FILE_NAME` in the
package's state directory: the PostgreSQL database and role the
configuration names, and whether they are this host's own (created by
setup, so purge drops them) or a remote server's (never dropped). The
postrm reads nothing else::

    # Written by ublog-ctl setup: ...
    drop=yes
    name=blogdb
    user=blogger
    host=/var/run/postgresql
    port=5433
"""

import os
import tempfile
from pathlib import Path

from ..config import Config
from .database import Database

FILE_NAME = ".purge-plan"


def render(config: Config) -> str:
    """The plan for ``config``: key=value lines a shell script can read."""
    db = Database.from_config(config)
    lines = [
        "# Written by ublog-ctl setup and unsetup from the configuration: what",
        "# `apt purge ublog` drops (debian/ublog.postrm reads this file only).",
    ]
    if config["ublog", "role"] == "lb" or not db.is_local:
        return "\n".join([*lines, "drop=no", ""])
    db.check_identifiers()  # letters, digits and _: safe in the postrm
    values = {
        "drop": "yes",
        "name": db.name,
        "user": db.user,
        "host": db.host,
        "port": db.port or "",
    }
    return "\n".join([*lines, *(f"{k}={v}" for k, v in values.items()), ""])


def write(config: Config, directory: Path) -> Path:
    """Write the plan into ``directory`` (atomically, 0644); return its path."""
    path = directory / FILE_NAME
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{FILE_NAME}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(render(config))
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
