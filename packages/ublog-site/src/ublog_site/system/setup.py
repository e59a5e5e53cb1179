"""``ublog-ctl setup``: bring an installed site to a working state.

Run by the packages' postinst (and by an admin after editing the
configuration). Every step is idempotent: the system user, the configuration
file (written once, with a generated secret), the directories, the
PostgreSQL role and database, a backup before migrating on upgrade, migrate,
collectstatic, and the nginx site. ``unsetup`` undoes only what must not
outlive the package's code (the nginx site), keeping all data.
"""

import grp
import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import SYSTEM_CONFIG, Config, ConfigError, load_config
from . import backup, configfile, purge_plan, tls
from .commands import ctl, have, require_root, run, systemd_running
from .database import (
    Database,
    ensure_role_and_database,
    has_schema,
    local_server,
    postgresql_pending,
)
from .errors import AdminError
from .nginx import Limits, Nginx
from .nginx_site import SiteSpec, Tls


def default_web_group() -> str:
    """The group nginx runs as: www-data on Debian, nginx on RPM systems."""
    for name in ("www-data", "nginx"):
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        return name
    return "root"


@dataclass
class Options:
    config_path: Path = SYSTEM_CONFIG
    user: str = "ublog"
    web_group: str = field(default_factory=default_web_group)
    previous_version: str = ""
    maintainer_script: bool = False
    nginx: Nginx = field(default_factory=Nginx)
    home: Path = Path("/var/lib/ublog")
    #: ``SECTION.KEY=VALUE`` assignments for the configuration file (--set).
    settings: list[str] = field(default_factory=list)


def ensure_user(name: str, home: Path) -> bool:
    """Create the system user and group ``name`` if missing."""
    try:
        pwd.getpwnam(name)
        return False
    except KeyError:
        pass
    _create_user(name, home)
    return True


def _create_user(name: str, home: Path) -> None:  # pragma: no cover (tests/install)
    if Path("/etc/debian_version").exists() and have("adduser"):
        args = ["adduser", "--system", "--group", "--quiet", "--no-create-home"]
        args += ["--home", str(home), "--shell", "/usr/sbin/nologin"]
    else:
        args = ["useradd", "--system", "--user-group", "--no-create-home"]
        args += ["--home-dir", str(home), "--shell", "/sbin/nologin"]
    run([*args, name], what=f"creating system user {name}")


def load(path: Path) -> Config:
    try:
        return load_config({"UBLOG_CONFIG": str(path)})
    except ConfigError as exc:
        raise AdminError(str(exc), f"fix {path}, then: ublog-ctl setup") from None


def _make_dir(path: Path, mode: int, uid: int, gid: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def ensure_dirs(config: Config, user: str, web_group: str) -> None:
    """Data (root's), static (world-readable) and media (service-writable,
    readable by nginx through its group; setgid so new folders inherit it)."""
    uid = pwd.getpwnam(user).pw_uid
    ugid = pwd.getpwnam(user).pw_gid
    web_gid = grp.getgrnam(web_group).gr_gid
    data_dir = config["ublog", "data_dir"]
    _make_dir(data_dir, 0o755, 0, 0)
    # Collected by the service user (ublog-ctl runs Django as that user);
    # the service itself cannot write there (ProtectSystem=strict).
    _make_dir(config["ublog", "static_root"], 0o755, uid, ugid)
    _make_dir(config["ublog", "media_root"], 0o2750, uid, web_gid)
    if config["database", "engine"] == "sqlite":
        _make_dir(Path(config["database", "name"]).parent, 0o750, uid, ugid)


def secure_password_files(config: Config, group: str) -> list[Path]:
    """Password files an admin wrote before the ublog group existed: make
    them root:group 0640 (the service reads them, nobody else)."""
    gid = grp.getgrnam(group).gr_gid
    fixed = []
    for section in ("database", "email"):
        path = config[section, "password_file"]
        if path is None or not path.is_file():
            continue
        info = path.stat()
        if (info.st_uid, info.st_gid, info.st_mode & 0o777) != (0, gid, 0o640):
            os.chown(path, 0, gid)
            os.chmod(path, 0o640)
            fixed.append(path)
    return fixed


def setup(opts: Options, say: Callable[[str], None] = print) -> Config:
    require_root("setup")
    if ensure_user(opts.user, opts.home):
        say(f"created system user {opts.user}")
    kept = opts.home / configfile.KEPT_DIR_NAME
    for restored in configfile.restore_kept(opts.config_path, kept):
        say(f"restored {restored}, kept by the last purge")
    if configfile.ensure(opts.config_path, group=opts.user):
        say(f"wrote {opts.config_path} with a newly generated secret key")
    for change in configfile.set_values(opts.config_path, opts.settings):
        say(change)
    config = load(opts.config_path)
    role = config["ublog", "role"]
    for secured in secure_password_files(config, opts.user):
        say(f"made {secured} readable by root and group {opts.user} only (0640)")
    ensure_dirs(config, opts.user, opts.web_group)
    purge_plan.write(config, opts.home)
    if role == "lb":
        say("role lb: no database and no ublog.service on this host")
    elif opts.maintainer_script and defer_until_postgresql(config):
        say(
            "PostgreSQL is being installed in this same run: ublog's setup "
            "finishes once it is configured (dpkg trigger ublog-setup)"
        )
        return config
    else:
        prepare_database(opts, config, say)
        ctl(
            "collectstatic",
            "--no-input",
            "--verbosity",
            "0",
            config=opts.config_path,
            user=opts.user,
            what="collecting static files",
        )
        reencoded = ctl(
            "processimages",
            config=opts.config_path,
            user=opts.user,
            what="re-encoding the images posted before this version",
            check=False,
        )
        if reencoded.returncode:  # named above; never a failed upgrade for it
            say("warning: the images named above are served as they were stored")
    serve(opts, config, say)
    if not opts.maintainer_script and systemd_running():  # pragma: no cover
        run(
            ["systemctl", "try-restart", "ublog.service", "ublog-mailer.service"],
            what="restarting ublog",
        )
    return config


def site_spec(config: Config) -> SiteSpec:
    """The nginx site ublog.conf asks for (without its certificate)."""
    return SiteSpec(
        role=config["ublog", "role"],
        host_name=config["ublog", "host_name"],
        max_image_size=config["uploads", "max_image_size"],
        hsts_preload=config["ublog", "hsts_preload"],
        app_servers=tuple(config["cluster", "app_servers"]),
        load_balancers=tuple(config["cluster", "load_balancers"]),
        page_cache=config["cache", "nginx_pages"],
    )


def limits_of(config: Config) -> Limits:
    return Limits(
        post_rate=config["limits", "nginx_post_rate"],
        post_burst=config["limits", "nginx_post_burst"],
        connections=config["limits", "nginx_connections"],
        ipv6_prefix=config["limits", "ipv6_prefix"],
    )


def serve(opts: Options, config: Config, say: Callable[[str], None]) -> None:
    """Write and enable the nginx site with the certificate of ``[tls]
    mode`` (getting one first for ``acme``), and reload nginx."""
    spec, limits = site_spec(config), limits_of(config)
    mode = config["tls", "mode"]
    if mode == "acme":
        acme = tls.acme_of(config)
        if tls.acme_needed(acme):
            # certbot answers the challenge through the plain HTTP site.
            _apply_site(opts.nginx, spec, limits, say)
            for change in tls.obtain(acme):
                say(change)
    served = served_certificate(config, say)
    _apply_site(opts.nginx, replace(spec, tls=served), limits, say)
    for change in tls.watch_files(served if mode == "files" else None):
        say(change)


def served_certificate(config: Config, say: Callable[[str], None]) -> Tls | None:
    """The certificate and key of ``[tls] mode`` (None: plain HTTP), the
    self-signed pair made if missing; an ACME certificate is obtained by
    :func:`serve` first. setup and lb-check write the site with it."""
    mode = config["tls", "mode"]
    if mode == "self-signed":
        served, made = tls.self_signed(config["ublog", "host_name"])
        for change in made:
            say(change)
        return served
    if mode == "files":
        return tls.files_of(config)
    return tls.ACME if mode == "acme" else None


def _apply_site(nginx: Nginx, spec: SiteSpec, limits: Limits, say) -> None:
    for change in nginx.configure(spec, limits) + nginx.enable():
        say(change)
    nginx.reload()


def defer_until_postgresql(config: Config) -> bool:  # pragma: no cover
    """In a postinst: if the local PostgreSQL is still being installed, ask
    dpkg to run our postinst again (``triggered ublog-setup``) at the end of
    this run, and say so. (tests/install: apt installs both together.)"""
    db = Database.from_config(config)
    if not db.is_local or not postgresql_pending():
        return False
    run(["dpkg-trigger", "--no-await", "ublog-setup"], what="deferring the setup")
    return True


def prepare_database(opts: Options, config: Config, say) -> None:
    """Create (local only), check, back up (on upgrade) and migrate the
    database; of several hosts sharing it, one migrates at a time."""
    db = Database.from_config(config)
    with local_server(db):
        if db.is_local:
            for created in ensure_role_and_database(db):
                say(f"created PostgreSQL {created}")
        ctl(
            "checkschema",
            config=opts.config_path,
            user=opts.user,
            what="checking the database schema",
        )
        if opts.previous_version and has_schema(db):
            made = backup.create(config, opts.previous_version)
            say(f"backed up the database and media before upgrading: {made.dump}")
        ctl(
            "preparedb",
            config=opts.config_path,
            user=opts.user,
            what="migrating the database",
        )


def unsetup(opts: Options, say: Callable[[str], None] = print) -> None:
    """On package removal: disable the nginx site; keep every piece of data,
    and say what a later purge drops (the configuration as it is now)."""
    require_root("unsetup")
    for change in opts.nginx.disable() + tls.watch_files(None):
        say(change)
    try:
        config = load(opts.config_path)
    except AdminError as exc:  # the plan of the last setup stays
        say(f"kept the purge plan of the last setup: {exc}")
        return
    purge_plan.write(config, opts.home)
