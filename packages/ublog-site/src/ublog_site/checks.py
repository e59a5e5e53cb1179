"""System checks of the site: the database is reachable and fully migrated,
the mail server takes mail and no mail was given up.

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


@register("mail", deploy=True)
def check_mail_server(app_configs=None, **kwargs):
    """The mail server answers (mail otherwise waits in the outbox)."""
    from .mail import delivery

    problem = delivery.probe()
    if problem is None:
        return []
    return [
        Warning(
            f"{delivery.server_label()} does not take mail: {problem}",
            hint="Mail waits in the outbox (ublog-ctl outbox) until it does. "
            "Install a mail transport agent (apt install default-mta) or set "
            "[email] host, port, use_tls/use_ssl, user and password_file for "
            "a smarthost; then: ublog-ctl sendtestemail you@example.org",
            id="ublog_site.W002",
        )
    ]


@register(Tags.database, deploy=True)
def check_failed_mail(app_configs=None, databases=None, **kwargs):
    """No mail has been given up on."""
    if not databases:
        return []
    from .mail import outbox

    try:
        failed = outbox.summary().failed
    except DatabaseError:
        return []  # check_migrations reports the database
    if not failed:
        return []
    return [
        Warning(
            f"{failed} mail(s) could not be delivered and were given up",
            hint="See why: ublog-ctl outbox; send them again once fixed: "
            "ublog-ctl outbox --retry-failed",
            id="ublog_site.W003",
        )
    ]
