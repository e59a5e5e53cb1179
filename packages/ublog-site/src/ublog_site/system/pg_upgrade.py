"""``ublog-ctl pg-upgrade``: the site's database onto the newest installed
PostgreSQL major, with postgresql-common's ``pg_upgradecluster``.

A Debian release upgrade installs the new release's PostgreSQL next to the
old one (Debian 12's 15 beside Debian 13's 17) and leaves the site on the
old cluster. This command moves it, the way Debian documents
(``/usr/share/doc/postgresql-common/README.Debian``):

1. it refuses, with one line and a hint, what cannot work: a database that
   is not this host's own cluster, no newer major installed, too little
   free space for a second copy of the cluster;
2. a backup (``ublog-ctl backup``), and the row count of every table;
3. the site's units stop (no write may go to the old cluster after it was
   copied), ``pg_upgradecluster -v NEW OLD NAME`` copies the cluster
   (postgresql-common's default method: dump and restore) and gives the new
   one the old one's port, the old one is kept, stopped, on another port;
4. the units start again, on whichever cluster serves the port: when the
   upgrade failed, the old one, untouched (the half-made new cluster is
   dropped, and the old one, which pg_upgradecluster left running with a
   temporary pg_hba.conf that admits only the superuser, restarted with its
   own), and the command can run again;
   a cluster of the target major and the same name that holds nothing but
   the system databases (an empty one: Debian's postgresql-NN package
   makes one where no cluster existed yet) or the site's (a failed
   attempt's) is dropped first, one holding anything else is a refusal;
5. the new cluster is verified: online on the site's port, migrated, the
   same row counts;
6. ``--cleanup``, run after the admin checked the site, drops the old
   clusters of the same name, and only while the site's database is on the
   newest installed major and verified.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from .commands import run, systemd_running
from .database import SUPERUSER, Cluster, Database, clusters, has_schema
from .errors import AdminError

#: Where Debian installs each PostgreSQL major's server (bin/postgres).
SERVERS = Path("/usr/lib/postgresql")
#: Where Debian keeps each cluster's data: <major>/<name>.
DATA = Path("/var/lib/postgresql")
#: The units that write to the database, stopped while it is copied.
UNITS = ("ublog.socket", "ublog.service", "ublog-mailer.service")
#: Free space asked for, as a multiple of the old cluster's size: the copy,
#: plus room for its write-ahead log while it is restored.
SPACE_FACTOR = 1.5


@dataclass(frozen=True)
class Plan:
    """The cluster that serves the site and the major it moves to."""

    cluster: Cluster
    target: str


def installed_majors(servers: Path = SERVERS) -> list[str]:
    """The PostgreSQL majors whose server is installed, oldest first."""
    found = [p.name for p in servers.glob("*") if (p / "bin" / "postgres").exists()]
    return sorted((v for v in found if v.isdigit()), key=int)


def site_cluster(db: Database, found: list[Cluster]) -> Cluster:
    """The local cluster the site's database is on (by its port)."""
    if not db.is_postgresql or not db.is_local:
        where = db.host or "an SQLite file"
        raise AdminError(
            f"the database is not on a PostgreSQL cluster of this host ({where})",
            "upgrade that server with its own tools",
        )
    port = db.port or 5432
    for cluster in found:
        if cluster.port == port:
            return cluster
    raise AdminError(f"no PostgreSQL cluster on port {port}", "pg_lsclusters")


def plan(db: Database, found: list[Cluster], majors: list[str]) -> Plan | None:
    """What to upgrade, or None when the site is on the newest installed
    major already."""
    cluster = site_cluster(db, found)
    newer = [m for m in majors if int(m) > int(cluster.version)]
    if not newer:
        return None
    return Plan(cluster, newer[-1])


def check_space(needed: int, free: int, where: Path) -> None:
    """Refuse when ``free`` bytes cannot hold ``needed`` more."""
    wanted = int(needed * SPACE_FACTOR)
    if free < wanted:
        raise AdminError(
            f"not enough disk space in {where}: the new cluster needs about "
            f"{wanted // 2**20} MiB, {free // 2**20} MiB are free",
            f"free space on the file system of {where}, then run it again",
        )


def tree_size(path: Path) -> int:
    total = 0
    for top, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                continue
    return total


def in_the_way(found: list[Cluster], plan_: Plan) -> Cluster | None:
    """A cluster of the target major with the site cluster's name that does
    not serve the site: pg_upgradecluster must create it, so it has to go.
    Debian's postgresql-NN package makes an empty one when it is installed
    where no cluster exists yet (not on a release upgrade); a failed attempt
    may leave one behind."""
    for cluster in found:
        if (
            cluster.version == plan_.target
            and cluster.name == plan_.cluster.name
            and cluster.port != plan_.cluster.port
        ):
            return cluster
    return None


#: The databases every cluster has.
SYSTEM_DATABASES = frozenset({"postgres", "template0", "template1"})


def disposable(databases: set[str], site_database: str) -> bool:
    """Whether a cluster in the way holds nothing but the system databases
    and (from a failed attempt) the site's own."""
    return databases <= SYSTEM_DATABASES | {site_database}


def databases(cluster: Cluster) -> set[str]:  # pragma: no cover (tests/install)
    """The databases of a cluster (started for the question if it is down)."""
    ctl = ["pg_ctlcluster", cluster.version, cluster.name]
    if not cluster.online:
        run([*ctl, "start"], what=f"starting {cluster.version}/{cluster.name}")
    out = run(
        ["psql", "-X", "-q", "-A", "-t", "-p", str(cluster.port)]
        + ["-c", "SELECT datname FROM pg_database"],
        what=f"listing the databases of {cluster.version}/{cluster.name}",
        user=SUPERUSER,
    ).stdout.decode()
    return set(out.split())


def row_counts(db: Database) -> dict[str, int]:  # pragma: no cover (tests/install)
    """Every table of the site's database and its number of rows."""
    sql = (
        "SELECT format('%s %s', table_name, (xpath('/row/c/text()', "
        "query_to_xml(format('SELECT count(*) AS c FROM public.%I', table_name), "
        "false, true, '')))[1]::text) FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' "
        "ORDER BY table_name"
    )
    where = ["-h", db.host] if db.host else []
    out = run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db.name]
        + [*where, "-p", str(db.port or 5432), "-c", sql],
        what="counting the database's rows",
        user=SUPERUSER,
    ).stdout.decode()
    return {
        name: int(count)
        for name, count in (line.split() for line in out.splitlines() if line)
    }


def _units(action: str) -> None:  # pragma: no cover (tests/install)
    if systemd_running():
        run(["systemctl", action, *UNITS], what=f"systemctl {action}")


def upgrade(
    config: Config, backup: Callable[[], object], say: Callable[[str], None] = print
) -> None:  # pragma: no cover (tests/install: the Debian 12 -> 13 journey)
    """Move the site's database to the newest installed major (see the
    module's docstring); ``backup`` takes the backup and says where."""
    db = Database.from_config(config)
    found = clusters()
    chosen = plan(db, found, installed_majors())
    if chosen is None:
        cluster = site_cluster(db, found)
        say(f"the database is on PostgreSQL {cluster.version}: the newest installed")
        return
    old = chosen.cluster
    label = f"{old.version}/{old.name}"
    if not old.online:
        raise AdminError(
            f"PostgreSQL cluster {label} is not running",
            f"pg_ctlcluster {old.version} {old.name} start",
        )
    other = in_the_way(found, chosen)
    if other:
        held = databases(other)
        name = f"{other.version}/{other.name}"
        if not disposable(held, db.name):
            raise AdminError(
                f"PostgreSQL {name} exists and holds "
                f"{', '.join(sorted(held - SYSTEM_DATABASES))}",
                f"move those databases, or drop {name} yourself; pg-upgrade "
                "drops only an empty cluster or one of its failed attempts",
            )
        say(f"dropping the empty PostgreSQL {name}: pg_upgradecluster makes it")
        run(
            ["pg_dropcluster", "--stop", other.version, other.name],
            what=f"dropping PostgreSQL {name}",
        )
    data = DATA / old.version / old.name
    check_space(tree_size(data), shutil.disk_usage(DATA).free, DATA)
    before = row_counts(db)
    backup()
    say(f"stopping {' '.join(UNITS)}; upgrading {label} to {chosen.target}")
    _units("stop")
    try:
        run(
            ["pg_upgradecluster", "-v", chosen.target, old.version, old.name],
            what=f"pg_upgradecluster {label} to {chosen.target}",
            hint=f"the site runs on {label} again; fix the cause, then run "
            "`ublog-ctl pg-upgrade` again",
        )
    except AdminError:
        try:
            recover(chosen, say)
        except AdminError as exc:
            say(f"could not put {label} back as it was: {exc}")
        raise
    finally:
        _units("start")
    verify(db, chosen.target, before)
    say(
        f"the database is on PostgreSQL {chosen.target}, port {db.port or 5432}, "
        f"{sum(before.values())} rows as before; {label} is kept, stopped. "
        "Once the site is checked: ublog-ctl pg-upgrade --cleanup"
    )


def recover(
    plan_: Plan, say: Callable[[str], None]
) -> None:  # pragma: no cover (tests/install: the failed attempt of the journey)
    """Undo what a failed pg_upgradecluster left: its half-made cluster is
    dropped, and the old cluster, which it restarted with a temporary
    pg_hba.conf that lets only the superuser in, is restarted with its own
    configuration (by its systemd unit when systemd runs)."""
    old = plan_.cluster
    found = clusters()
    half_made = in_the_way(found, plan_)  # none was there before it ran
    if half_made:
        name = f"{half_made.version}/{half_made.name}"
        say(f"dropping {name}, half made by the failed pg_upgradecluster")
        run(
            ["pg_dropcluster", "--stop", half_made.version, half_made.name],
            what=f"dropping PostgreSQL {name}",
        )
    label = f"{old.version}/{old.name}"
    say(f"restarting PostgreSQL {label} with its own configuration")
    if any(c.online for c in found if (c.version, c.name) == (old.version, old.name)):
        run(["pg_ctlcluster", old.version, old.name, "stop"], what=f"stopping {label}")
    run(["pg_ctlcluster", old.version, old.name, "start"], what=f"starting {label}")


def verify(
    db: Database, major: str, before: dict[str, int]
) -> None:  # pragma: no cover
    """The site's cluster is ``major``, online, migrated, rows as before."""
    cluster = site_cluster(db, clusters())
    if cluster.version != major or not cluster.online:
        raise AdminError(
            f"the site's port is served by {cluster.version}/{cluster.name} "
            f"({'online' if cluster.online else 'down'}), not by {major}",
            "pg_lsclusters; the old cluster and the backup are kept",
        )
    after = row_counts(db)
    if not has_schema(db) or after != before:
        changed = sorted(
            k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
        )
        raise AdminError(
            f"the upgraded database differs: {', '.join(changed) or 'no schema'}",
            "the old cluster and the backup are kept: compare them, see pg_lsclusters",
        )


def cleanup(
    config: Config, say: Callable[[str], None] = print
) -> None:  # pragma: no cover
    """Drop the older clusters of the site cluster's name, once the site's
    database is on the newest installed major and verified."""
    db = Database.from_config(config)
    found = clusters()
    if plan(db, found, installed_majors()) is not None:
        raise AdminError(
            "the database is not on the newest installed PostgreSQL yet",
            "ublog-ctl pg-upgrade",
        )
    current = site_cluster(db, found)
    if not current.online or not has_schema(db):
        raise AdminError(
            f"PostgreSQL {current.version}/{current.name} is not serving the site",
            "check `ublog-ctl status` before dropping anything",
        )
    old = [
        c
        for c in found
        if c.name == current.name and int(c.version) < int(current.version)
    ]
    if not old:
        say("no older cluster to drop")
        return
    for cluster in old:
        run(
            ["pg_dropcluster", "--stop", cluster.version, cluster.name],
            what=f"dropping PostgreSQL {cluster.version}/{cluster.name}",
        )
        say(f"dropped PostgreSQL {cluster.version}/{cluster.name}")
