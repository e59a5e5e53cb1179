"""The interpreters of the tox matrix must all be there: tox must never skip
part of the matrix in silence. uv cannot download Pythons here; make puts
``$(pyenv root)/versions/3.X.*/bin`` on PATH."""

import shutil

from . import releases, run
from .errors import BuildError

log = run.logger("check-pythons")


def check() -> dict[str, str]:
    """``{version: path}`` of each supported Python, or a BuildError."""
    found, missing = {}, []
    for version in releases.SUPPORTED_PYTHONS:
        path = shutil.which(f"python{version}")
        if path:
            found[version] = path
            log.info(f"python{version} -> {path}")
        else:
            missing.append(f"python{version}")
    if missing:
        raise BuildError(
            f"{', '.join(missing)} not found on PATH", "install it with pyenv"
        )
    return found
