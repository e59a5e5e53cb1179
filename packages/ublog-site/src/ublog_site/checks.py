"""System checks of the site: the database is reachable and fully migrated.

Deployment checks tagged ``database``: they run with ``ublog-ctl check``
(which adds ``--deploy --database default``), not on every management
command (``migrate`` would otherwise warn about the migrations it applies).
"""

from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor


@register(Tags.database, deploy=True)
def check_migrations(app_configs=None, databases=None, **kwargs):
    if not databases:
        return []
    messages = []
    for alias in databases:
        connection = connections[alias]
        try:
            executor = MigrationExecutor(connection)
            targets = executor.loader.graph.leaf_nodes()
            pending = executor.migration_plan(targets)
        except DatabaseError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            messages.append(
                Error(
                    f"database {alias!r} is unreachable: {first}",
                    hint="Check [database] in the configuration and that the "
                    "server runs (ublog-ctl status).",
                    id="ublog_site.E001",
                )
            )
            continue
        if pending:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending[:5])
            messages.append(
                Warning(
                    f"{len(pending)} unapplied migration(s): {names}",
                    hint="Run: ublog-ctl migrate",
                    id="ublog_site.W001",
                )
            )
    return messages
