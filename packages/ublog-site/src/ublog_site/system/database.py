"""The site's database as the admin verbs see it: where it is, how to reach
it with the PostgreSQL client tools, and creating the role and database.

The parts that need a PostgreSQL server (marked ``pragma: no cover``) run
for real in the install test (tests/install), on a booted Debian with the
.deb installed; the unit tests cover the rest.

Local PostgreSQL (``[database] host`` empty) is reached over the unix socket
with peer authentication: the client tools run as the OS user named like the
database role, so no password exists anywhere. A remote database is used as
configured and nothing is created on it.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from .commands import have, run, systemd_running
from .errors import AdminError

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SUPERUSER = "postgres"


@dataclass(frozen=True)
class Database:
    engine: str
    name: str
    user: str
    host: str
    port: int | None
    password: str
    sslmode: str

    @classmethod
    def from_config(cls, config: Config) -> "Database":
        return cls(
            engine=config["database", "engine"],
            name=str(config["database", "name"]),
            user=config["database", "user"],
            host=config["database", "host"],
            port=config["database", "port"],
            password=config.database_password,
            sslmode=config["database", "sslmode"],
        )

    @property
    def is_postgresql(self) -> bool:
        return self.engine == "postgresql"

    @property
    def is_local(self) -> bool:
        """Local PostgreSQL over the unix socket (peer authentication)."""
        return self.is_postgresql and (not self.host or self.host.startswith("/"))

    @property
    def sqlite_path(self) -> Path:
        return Path(self.name)

    def client_env(self) -> dict[str, str]:
        """libpq environment for psql, pg_dump and pg_restore."""
        env = {"PGDATABASE": self.name, "PGUSER": self.user}
        if self.host:
            env["PGHOST"] = self.host
        if self.port:
            env["PGPORT"] = str(self.port)
        if self.sslmode:
            env["PGSSLMODE"] = self.sslmode
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def client_user(self) -> str | None:
        """The OS user the client tools run as (peer auth needs the role's)."""
        return self.user if self.is_local else None

    def check_identifiers(self) -> None:
        for key, value in (("name", self.name), ("user", self.user)):
            if not IDENTIFIER.match(value):
                raise AdminError(
                    f"[database] {key} {value!r}: use lower-case letters, digits "
                    "and _ for a local PostgreSQL database",
                )


@dataclass(frozen=True)
class Cluster:
    version: str
    name: str
    port: int
    online: bool


def clusters() -> list[Cluster]:  # pragma: no cover
    out = run(["pg_lsclusters", "--no-header"], what="listing PostgreSQL clusters")
    found = []
    for line in out.stdout.decode().splitlines():
        fields = line.split()
        if len(fields) >= 4:
            online = fields[3].startswith("online")
            found.append(Cluster(fields[0], fields[1], int(fields[2]), online))
    return found


@contextmanager
def local_server(db: Database):
    """Make sure the local cluster runs for the duration of the block.

    With systemd as init a stopped cluster is an error (the admin stopped it,
    or it failed). Without an init system (a chroot, a container build) no
    service ever starts, so the cluster is started here and stopped again.
    """
    if not db.is_local:
        yield None
        return
    with _running_cluster(db) as cluster:
        yield cluster


@contextmanager
def _running_cluster(db: Database):  # pragma: no cover
    hint = "apt install postgresql, or set [database] host for a remote database"
    try:
        found = clusters()
    except AdminError as exc:
        raise AdminError(f"PostgreSQL is not installed ({exc})", hint) from None
    if not found:
        raise AdminError("no PostgreSQL cluster exists", hint)
    cluster = next((c for c in found if c.port == (db.port or 5432)), found[0])
    label = f"PostgreSQL cluster {cluster.version}/{cluster.name}"
    if cluster.online:
        yield cluster
        return
    if systemd_running():
        raise AdminError(
            f"{label} is not running",
            "systemctl start postgresql, then: dpkg --configure -a",
        )
    ctl = ["pg_ctlcluster", cluster.version, cluster.name]
    run([*ctl, "start"], what=f"starting {label}")
    try:
        yield cluster
    finally:
        run([*ctl, "stop"], what=f"stopping {label}")


def postgresql_pending() -> bool:  # pragma: no cover (tests/install)
    """Whether dpkg is installing PostgreSQL in this very run: a postgresql
    package unpacked but not configured yet, and no cluster so far. (Its
    Recommends give no ordering: apt may configure ublog first.)"""
    if not have("dpkg-query"):
        return False
    out = run(
        ["dpkg-query", "-W", "-f", "${Package} ${Status}\n", "postgresql*"],
        what="dpkg-query",
        check=False,
    ).stdout.decode()
    states = [line.split()[-1] for line in out.splitlines() if line.strip()]
    if not any(s in ("unpacked", "half-configured", "half-installed") for s in states):
        return False
    try:
        return not clusters()
    except AdminError:  # pg_lsclusters not there yet
        return True


def psql(sql: str, database: str = "postgres") -> str:  # pragma: no cover
    result = run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database]
        + ["-c", sql],
        what="psql",
        user=SUPERUSER,
    )
    return result.stdout.decode().strip()


def ensure_role_and_database(db: Database) -> list[str]:  # pragma: no cover
    """Create the role and database if missing; return what was created."""
    db.check_identifiers()
    created = []
    if psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{db.user}'") != "1":
        psql(f'CREATE ROLE "{db.user}" LOGIN')
        created.append(f"role {db.user}")
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{db.name}'") != "1":
        run(
            ["createdb", "--owner", db.user, "--encoding", "UTF8"]
            + ["--template", "template0", "--locale", "C.UTF-8", db.name],
            what=f"creating database {db.name}",
            user=SUPERUSER,
        )
        created.append(f"database {db.name}")
    return created


def has_schema(db: Database) -> bool:
    """True once migrations ran (the database holds data worth a backup)."""
    if not db.is_postgresql:
        return db.sqlite_path.exists()
    return _pg_has_schema(db)


def _pg_has_schema(db: Database) -> bool:  # pragma: no cover
    sql = "SELECT to_regclass('public.django_migrations') IS NOT NULL"
    out = run(
        ["psql", "-X", "-A", "-t", "-c", sql],
        what="reading the database",
        user=db.client_user(),
        env=db.client_env(),
    )
    return out.stdout.decode().strip() == "t"
