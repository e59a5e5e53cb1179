"""`apt purge ublog`, answered yes to ublog/purge_data (delete the data),
drops the database the configuration names, and only it.

The admin wrote /etc/ublog/ublog.conf before installing: the database is
``blogdb``, reached through the socket directory (``host =
/var/run/postgresql``, the local server, peer authentication). Another
database that happens to be called ``ublog`` belongs to someone else. The
purge must drop ``blogdb`` (and the role) and leave ``ublog`` alone; the
purge of earlier versions read the file again in shell, took the socket
directory for a remote host and dropped nothing, and with no host dropped
``ublog``, whatever the file said.
"""

import secrets

from support.db import psql
from support.debconf import purge_deletes_data
from support.localrepo import apt, install_ublog
from support.testbed import Testbed

CONFIG = f"""[ublog]
secret_key = {secrets.token_urlsafe(48)}

[database]
name = blogdb
host = /var/run/postgresql
"""


def databases(tb) -> set[str]:
    names = psql(tb, "SELECT datname FROM pg_database WHERE NOT datistemplate")
    return set(names.split())


def test_purge_drops_the_configured_database_only(ublog_root, release_deb, bed_args):
    with Testbed(tarball=ublog_root, **bed_args) as tb:
        # Someone else's database called "ublog", there before ublog was.
        apt(tb, "install", "postgresql")
        psql(tb, "CREATE DATABASE ublog")
        psql(tb, "CREATE TABLE keep_me (x int)", "ublog")
        tb.run(["mkdir", "-p", "/etc/ublog"])
        tb.run(["sh", "-c", "cat > /etc/ublog/ublog.conf"], input=CONFIG)

        install_ublog(tb, release_deb())
        assert {"blogdb", "ublog"} <= databases(tb)
        assert psql(tb, "SELECT count(*) FROM django_migrations", "blogdb") != "0"
        plan = tb.run(["cat", "/var/lib/ublog/.purge-plan"]).stdout
        assert "\ndrop=yes\nname=blogdb\nuser=ublog\nhost=/var/run/postgresql\n" in (
            plan
        ), plan

        purge_deletes_data(tb)
        out = apt(tb, "purge", "ublog").stdout
        assert "ublog: dropped the PostgreSQL database blogdb" in out, out[-3000:]
        assert "ublog: dropped the PostgreSQL role ublog" in out
        assert "blogdb" not in databases(tb)
        assert "ublog" in databases(tb), "someone else's database was dropped"
        assert psql(tb, "SELECT count(*) FROM keep_me", "ublog") == "0"
        roles = psql(tb, "SELECT count(*) FROM pg_roles WHERE rolname = 'ublog'")
        assert roles == "0"
        assert tb.run(["test", "-e", "/var/lib/ublog"], check=False).returncode
