"""Inside an installed testbed: SQL as PostgreSQL's superuser, and Python in
the installed site's Django (``ublog-ctl shell``, as the service user)."""


def psql(tb, sql: str, database: str = "postgres") -> str:
    """The rows of ``sql`` (unaligned, ``|`` between columns)."""
    return tb.run(
        ["runuser", "-u", "postgres", "--", "psql", "-XAtc", sql, database]
    ).stdout.strip()


def django(tb, code: str) -> str:
    """Run Python in the installed site's Django; the last line it printed
    (Django's shell first reports its automatic imports)."""
    out = tb.run(["ublog-ctl", "shell", "-c", code]).stdout.strip()
    return out.splitlines()[-1] if out else ""
