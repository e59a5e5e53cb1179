"""Where things are: the repository, dist/, the cache, the build's epoch.

Settings are read at call time (``CACHE_DIR``, ``SOURCE_DATE_EPOCH``), so a
test or the Makefile can change them between calls.
"""

import email.utils
import os
import subprocess
from pathlib import Path

from .errors import MissingInput

#: The repository (the directory that holds tools/).
ROOT = Path(__file__).resolve().parents[2]
#: Everything the pipeline builds.
DIST = ROOT / "dist"
#: Directories that hold no sources (what .gitignore says, for a tree that
#: is not a git checkout).
NOT_SOURCES = {".git", ".venv", ".tox", "dist", "var", "build", "__pycache__"}


def cache_dir() -> Path:
    """``$CACHE_DIR``, default ``~/.cache/ublog``: downloads, chroots, keys."""
    return Path(os.environ.get("CACHE_DIR") or Path.home() / ".cache" / "ublog")


def source_date_epoch(root: Path = ROOT) -> int:
    """Every timestamp of a build: ``$SOURCE_DATE_EPOCH``, else the last
    commit's time, else the date of debian/changelog's first entry."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%ct"],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        result = None
    if result and result.returncode == 0 and result.stdout.strip():
        return int(result.stdout)
    for line in (root / "debian" / "changelog").read_text().splitlines():
        if line.startswith(" -- "):
            date = line.split(">", 1)[1].strip()
            return int(email.utils.parsedate_to_datetime(date).timestamp())
    raise MissingInput("no date in debian/changelog", "set SOURCE_DATE_EPOCH")


def log_file(name: str) -> Path:
    """Where a long step's output goes: kept, so that an error can name it."""
    directory = cache_dir() / "logs"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{name}.log"


def tool_python() -> Path:
    """The tool venv's Python (``make`` makes .venv): build, pip, pytest."""
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        raise MissingInput(f"no tool venv at {python.parent.parent}", "make")
    return python


def source_files(directory: Path, root: Path = ROOT) -> list[Path]:
    """The files of ``directory`` a build may use: tracked by git or
    untracked but not ignored (so no build leftovers), relative to
    ``directory``, sorted. Outside a git checkout: every file in it."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others"]
            + ["--exclude-standard", "--", str(directory.relative_to(root))],
            capture_output=True,
            check=True,
        ).stdout
    except (FileNotFoundError, subprocess.CalledProcessError, ValueError):
        found = set()
        for top, dirs, files in os.walk(directory):
            dirs[:] = [d for d in dirs if d not in NOT_SOURCES]
            links = [d for d in dirs if Path(top, d).is_symlink()]
            names = [n for n in files if not n.endswith(".pyc")] + links
            found.update(Path(top, n).relative_to(directory) for n in names)
    else:
        found = {
            (root / name).relative_to(directory)
            for name in listed.decode().split("\0")
            if name and os.path.lexists(root / name)
        }
    return sorted(found)
