"""ublog_site.system.pg_upgrade: what ``ublog-ctl pg-upgrade`` decides
before it touches anything, and how it refuses.

The upgrade itself (pg_upgradecluster from PostgreSQL 15 to 17, the units
stopped and started, the row counts compared, --cleanup) runs for real in
the Debian 12 -> 13 journey of the install tests, on a booted system with
both majors installed.
"""

import os
import subprocess
import sys

import pytest

from ublog_site.system import pg_upgrade
from ublog_site.system.database import Cluster, Database
from ublog_site.system.errors import AdminError

from .conftest import TEST_SECRET_KEY

LOCAL = Database("postgresql", "ublog", "ublog", "", None, "", "")
V15 = Cluster("15", "main", 5432, True)


def test_installed_majors_are_the_servers_present(tmp_path):
    for major, server in (("15", True), ("16", False), ("17", True), ("9", True)):
        (tmp_path / major / "bin").mkdir(parents=True)
        if server:
            (tmp_path / major / "bin" / "postgres").touch()
    (tmp_path / "common").mkdir()
    assert pg_upgrade.installed_majors(tmp_path) == ["9", "15", "17"]


def test_the_site_moves_to_the_newest_installed_major():
    plan = pg_upgrade.plan(LOCAL, [V15], ["15", "16", "17"])
    assert plan == pg_upgrade.Plan(V15, "17")
    # Its cluster is the one on its port.
    other = Cluster("17", "main", 5433, False)
    on_5433 = Database("postgresql", "ublog", "ublog", "", 5433, "", "")
    assert pg_upgrade.plan(on_5433, [V15, other], ["15", "17"]) is None


def test_nothing_to_do_on_the_newest_major():
    assert pg_upgrade.plan(LOCAL, [V15], ["15"]) is None
    assert (
        pg_upgrade.plan(LOCAL, [Cluster("17", "main", 5432, True)], ["15", "17"])
        is None
    )


@pytest.mark.parametrize(
    "db, message",
    [
        (
            Database("postgresql", "ublog", "ublog", "db.example", 5432, "pw", ""),
            "not on a PostgreSQL cluster of this host (db.example)",
        ),
        (
            Database("sqlite", "/var/lib/ublog/db.sqlite3", "", "", None, "", ""),
            "not on a PostgreSQL cluster of this host (an SQLite file)",
        ),
        (
            Database("postgresql", "ublog", "ublog", "", 5440, "", ""),
            "no PostgreSQL cluster on port 5440",
        ),
    ],
)
def test_refuses_what_is_not_a_local_cluster(db, message):
    with pytest.raises(AdminError) as raised:
        pg_upgrade.plan(db, [V15], ["15", "17"])
    assert message in str(raised.value)
    assert raised.value.hint


def test_refuses_when_the_copy_would_not_fit(tmp_path):
    with pytest.raises(AdminError) as raised:
        pg_upgrade.check_space(100 * 2**20, 120 * 2**20, tmp_path)
    assert "needs about 150 MiB, 120 MiB are free" in str(raised.value)
    assert "free space" in raised.value.hint
    pg_upgrade.check_space(100 * 2**20, 150 * 2**20, tmp_path)


def test_the_size_of_a_cluster_is_its_files(tmp_path):
    (tmp_path / "base" / "1").mkdir(parents=True)
    (tmp_path / "base" / "1" / "1259").write_bytes(b"x" * 8192)
    (tmp_path / "PG_VERSION").write_text("15\n")
    (tmp_path / "link").symlink_to("/etc/passwd")
    assert pg_upgrade.tree_size(tmp_path) == 8192 + 3 + len("/etc/passwd")


def test_the_target_cluster_in_the_way_is_found_and_dropped_only_when_empty():
    plan = pg_upgrade.Plan(V15, "17")
    # The empty 17/main postgresql-17 made, running on the next port.
    made = Cluster("17", "main", 5433, True)
    assert pg_upgrade.in_the_way([V15, made], plan) == made
    assert (
        pg_upgrade.in_the_way([V15, Cluster("17", "other", 5433, True)], plan) is None
    )
    assert pg_upgrade.in_the_way([V15], plan) is None
    system = {"postgres", "template0", "template1"}
    assert pg_upgrade.disposable(system, "ublog")
    assert pg_upgrade.disposable(system | {"ublog"}, "ublog")  # a failed attempt's
    assert not pg_upgrade.disposable(system | {"wiki"}, "ublog")


@pytest.mark.skipif(os.geteuid() != 0, reason="pg-upgrade needs root; CI runs as root")
def test_ublog_ctl_pg_upgrade_refuses_an_sqlite_site_in_one_line(tmp_path):
    conf = tmp_path / "ublog.conf"
    conf.write_text(
        f"[ublog]\nsecret_key = {TEST_SECRET_KEY}\ndata_dir = {tmp_path}\n"
        "[database]\nengine = sqlite\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "ublog_site.ctl", "pg-upgrade"],
        env={**os.environ, "UBLOG_CONFIG": str(conf)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("ublog-ctl pg-upgrade: the database is not on"), lines
    assert len(lines) <= 2, lines
