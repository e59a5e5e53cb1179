"""Backups of the database and the media, and restoring them.

A backup is files in ``[backup] dir`` sharing one stem,
``ublog-<UTC time>-<version>``: ``.dump`` (``pg_dump --format=custom``, or a
copy of the SQLite file made with its online backup API),
``.media.tar.gz`` and ``.config.tar.gz``: the configuration's directory
(/etc/ublog: ublog.conf and its secret key, without which sessions, signed
links and password-reset tokens of the restored site would all be invalid).
A ``.sha256`` file (``sha256sum`` format) lists the checksum of each of
them; it is written before the ``.dump`` gets its name, so every complete
backup has one. Only the newest ``[backup] keep`` backups are kept;
``copy_to`` copies one elsewhere (``ublog-ctl backup --to DIR``: an
off-host mount) and checks the copy. Restoring first verifies every
checksum (nothing is touched when one differs), then puts back the
database, the media and ublog.conf (checked to load first; the one it
replaces is kept as ``ublog.conf.pre-restore``); backups made before the
configuration or the checksums were part of them restore without them.
"""

import hashlib
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, ConfigError, load_config
from .commands import run
from .database import Database
from .errors import AdminError

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Backup:
    dump: Path
    media: Path

    @property
    def stem(self) -> str:
        return self.dump.name.removesuffix(".dump")

    @property
    def config(self) -> Path:
        """The configuration's archive (older backups have none)."""
        return self.dump.with_name(f"{self.stem}.config.tar.gz")

    @property
    def sums(self) -> Path:
        """The checksums of the other files (older backups have none)."""
        return self.dump.with_name(f"{self.stem}.sha256")

    def files(self) -> list[Path]:
        """Every file of the backup there is, the checksums last."""
        parts = [self.dump, self.media, self.config, self.sums]
        return [p for p in parts if p.exists()]


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def backup_dir(config: Config) -> Path:
    path = config["backup", "dir"]
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def list_backups(directory: Path) -> list[Backup]:
    """Complete backups, oldest first."""
    found = []
    for dump in sorted(directory.glob("ublog-*.dump")):
        media = dump.with_name(dump.name.removesuffix(".dump") + ".media.tar.gz")
        if media.exists():
            found.append(Backup(dump, media))
    return found


def create(config: Config, version: str) -> Backup:
    """Write a new backup, then delete the ones beyond ``[backup] keep``."""
    db = Database.from_config(config)
    directory = backup_dir(config)
    stem = f"ublog-{_stamp()}-{version}"
    target = Backup(directory / f"{stem}.dump", directory / f"{stem}.media.tar.gz")
    if target.dump.exists():  # two backups in one second: wait for the next
        time.sleep(1)
        return create(config, version)
    partial = target.dump.with_suffix(".dump.part")
    try:
        with open(partial, "xb") as out:
            os.chmod(partial, 0o600)
            if db.is_postgresql:
                _pg_dump(db, out)
            else:
                _sqlite_copy(db.sqlite_path, out.name)
        _write_media_tar(config["ublog", "media_root"], target.media)
        if config.source is not None:
            _write_tar(config.source.parent, target.config, ".config.")
        parts = {target.dump.name: partial, target.media.name: target.media}
        if target.config.exists():
            parts[target.config.name] = target.config
        _write_sums(target.sums, parts)
        os.rename(partial, target.dump)
    finally:
        partial.unlink(missing_ok=True)
    rotate(directory, config["backup", "keep"])
    return target


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_sums(target: Path, parts: dict[str, Path]) -> None:
    """``target`` in sha256sum's format: each name (the key) and the
    checksum of the file it names now (the value)."""
    lines = "".join(f"{sha256(path)}  {name}\n" for name, path in parts.items())
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".sums.")
    with os.fdopen(fd, "w") as out:
        out.write(lines)
    os.chmod(tmp, 0o600)
    os.rename(tmp, target)


def verify(backup: Backup) -> bool:
    """Check every file against the backup's checksums; False for a backup
    made before there were any (nothing to check), AdminError naming the
    first file that is missing or differs."""
    if not backup.sums.exists():
        return False
    listed = {}
    for line in backup.sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name or "/" in name:
            raise AdminError(f"{backup.sums}: not a checksum line: {line!r}")
        listed[name] = digest
    for required in (backup.dump, backup.media):
        if required.name not in listed:
            raise AdminError(f"{backup.sums} has no checksum for {required.name}")
    for name, digest in listed.items():
        path = backup.sums.with_name(name)
        if not path.is_file():
            raise AdminError(
                f"backup {backup.stem} is incomplete: {path} is missing",
                "nothing restored; copy the whole backup back",
            )
        if sha256(path) != digest:
            raise AdminError(
                f"backup {backup.stem} is damaged: {path} differs from its checksum",
                "nothing restored; use another backup (ublog-ctl backup --list)",
            )
    return True


def copy_to(backup: Backup, directory: Path) -> Backup:
    """Copy ``backup`` into ``directory`` (each file under a temporary name
    first), then verify the copy against the checksums."""
    if not directory.is_dir():
        raise AdminError(f"{directory} is not a directory", "mount or create it first")
    for path in backup.files():
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out)
            os.chmod(tmp, 0o600)
            os.rename(tmp, directory / path.name)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    copied = Backup(directory / backup.dump.name, directory / backup.media.name)
    verify(copied)
    return copied


def _pg_dump(db: Database, out) -> None:  # pragma: no cover (tests/install)
    run(
        ["pg_dump", "--format=custom", "--no-owner"],
        what="pg_dump",
        user=db.client_user(),
        env=db.client_env(),
        stdout=out,
    )


def _pg_restore(db: Database, dump: Path) -> None:  # pragma: no cover
    run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner"]
        + ["--single-transaction", "--exit-on-error", "-d", db.name],
        what="pg_restore",
        user=db.client_user(),
        env=db.client_env(),
        input=dump.read_bytes(),
    )


def _sqlite_copy(source: Path, destination: str) -> None:
    if not source.exists():
        raise AdminError(f"no database at {source}", "run: ublog-ctl setup")
    with sqlite3.connect(source) as src, sqlite3.connect(destination) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _write_media_tar(media_root: Path, target: Path) -> None:
    _write_tar(media_root, target, ".media.")


def _write_tar(directory: Path, target: Path, prefix: str) -> None:
    """``directory`` (if any) as a gzipped tar only root can read."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix)
    os.close(fd)
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            if directory.is_dir():
                tar.add(directory, arcname=".")
        os.chmod(tmp, 0o600)
        os.rename(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def rotate(directory: Path, keep: int) -> list[Backup]:
    """Delete all but the newest ``keep`` backups; return the deleted ones."""
    backups = list_backups(directory)
    doomed = backups[:-keep] if keep else backups
    for old in doomed:
        old.dump.unlink()
        old.media.unlink()
        old.config.unlink(missing_ok=True)
        old.sums.unlink(missing_ok=True)
    return doomed


def find(config: Config, name: str) -> Backup:
    """A backup by path of its .dump, or by stem in ``[backup] dir``."""
    path = Path(name)
    if not path.is_absolute() and not path.exists():
        path = config["backup", "dir"] / name
    if path.name.endswith(".media.tar.gz"):
        path = path.with_name(path.name.removesuffix(".media.tar.gz") + ".dump")
    if not path.name.endswith(".dump"):
        path = path.with_name(path.name + ".dump")
    media = path.with_name(path.name.removesuffix(".dump") + ".media.tar.gz")
    for part in (path, media):
        if not part.is_file():
            raise AdminError(f"no such backup file: {part}", "ublog-ctl backup --list")
    return Backup(path, media)


def restore(config: Config, backup: Backup) -> bool:
    """Replace the database, the media and ublog.conf with those of
    ``backup``; True when the configuration was restored too."""
    verify(backup)
    db = Database.from_config(config)
    head = backup.dump.read_bytes()[:16]
    if db.is_postgresql and not head.startswith(PG_MAGIC):
        raise AdminError(f"{backup.dump} is not a pg_dump custom-format file")
    if not db.is_postgresql and head != SQLITE_MAGIC:
        raise AdminError(f"{backup.dump} is not an SQLite database")
    saved = _saved_config(backup.config) if config.source is not None else None
    if db.is_postgresql:
        _pg_restore(db, backup.dump)
    else:
        _sqlite_copy(backup.dump, str(db.sqlite_path))
    _restore_media(backup.media, config["ublog", "media_root"])
    if saved is None:
        return False
    _replace_config(config.source, saved)
    return True


def _saved_config(archive: Path) -> bytes | None:
    """ublog.conf from a backup's configuration archive, checked to load
    (None for a backup made without one)."""
    if not archive.is_file():
        return None
    with tarfile.open(archive) as tar:
        try:
            member = tar.getmember("./ublog.conf")
        except KeyError:
            raise AdminError(f"{archive} holds no ublog.conf") from None
        if not member.isfile():
            raise AdminError(f"{archive}: ublog.conf is not a file")
        data = tar.extractfile(member).read()
    with tempfile.TemporaryDirectory(prefix="ublog-restore.") as tmp:
        probe = Path(tmp, "ublog.conf")
        probe.write_bytes(data)
        try:
            load_config({"UBLOG_CONFIG": str(probe)})
        except ConfigError as exc:
            raise AdminError(
                f"{archive}: its ublog.conf does not load: {exc}", "nothing restored"
            ) from None
    return data


def _replace_config(path: Path, data: bytes) -> None:
    """``path`` gets ``data``, same owner and mode; the file it replaces is
    kept as ``<path>.pre-restore``."""
    stat = path.stat() if path.exists() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ublog.conf.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, stat.st_mode & 0o7777 if stat else 0o640)
        if stat:
            os.chown(tmp, stat.st_uid, stat.st_gid)
            shutil.copy2(path, path.with_name(path.name + ".pre-restore"))
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _restore_media(archive: Path, media_root: Path) -> None:
    """Unpack beside ``media_root``, then swap directories (same owner, mode)."""
    media_root.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(dir=media_root.parent, prefix=".media-restore."))
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                if not (member.isfile() or member.isdir()):
                    raise AdminError(f"{archive}: unexpected entry {member.name!r}")
                target = (fresh / member.name).resolve()
                if not target.is_relative_to(fresh.resolve()):
                    raise AdminError(f"{archive}: unsafe path {member.name!r}")
            tar.extractall(fresh, members=members)
        if media_root.exists():
            stat = media_root.stat()
            fresh.chmod(stat.st_mode & 0o7777)
            _chown_tree(fresh, stat.st_uid, stat.st_gid)
        old = media_root.with_name(f".{media_root.name}.old")
        if media_root.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.rename(media_root, old)
        os.rename(fresh, media_root)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid)
