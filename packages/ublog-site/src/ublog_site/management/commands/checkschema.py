"""``ublog-ctl checkschema``: refuse to run code older than the database.

After a downgrade, the database may hold migrations this code does not know;
running it there could corrupt data. ``ublog-ctl setup`` runs this before
migrating, so the package refuses instead.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader


class Command(BaseCommand):
    help = "Fail if the database has migrations that this code does not know."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database=DEFAULT_DB_ALIAS, **options):
        loader = MigrationLoader(connections[database], ignore_no_migrations=True)
        known_apps = {app for app, _name in loader.graph.nodes}
        unknown = sorted(
            f"{app}.{name}"
            for app, name in loader.applied_migrations
            if app in known_apps and (app, name) not in loader.graph.nodes
        )
        if unknown:
            raise CommandError(
                "the database has migrations this version does not know "
                f"({', '.join(unknown)}): refusing to run older code on a newer "
                "schema (hint: reinstall the newer version, or restore a backup "
                "made by this version: ublog-ctl restore)"
            )
        self.stdout.write("schema ok: no unknown migrations applied")
