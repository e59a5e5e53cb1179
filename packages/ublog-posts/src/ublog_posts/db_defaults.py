"""Column defaults kept by PostgreSQL itself, for columns a migration adds.

During a package upgrade the workers of the version before keep serving until
the migration is done and they are restarted, and their INSERTs do not name
the new columns. Django keeps a field's default only in Python (and Django
4.2, which this app supports, has no ``db_default``), so a NOT NULL column
needs a default in the database too, or those INSERTs fail.
"""

from django.db import migrations


def keep_defaults(table, defaults):
    """A migration operation that sets *defaults* (column: value) on *table*
    in PostgreSQL; nothing on other databases, nothing to undo."""

    def set_defaults(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quoted = schema_editor.quote_name(table)
        for column, value in defaults.items():
            schema_editor.execute(
                f"ALTER TABLE {quoted} ALTER COLUMN "
                f"{schema_editor.quote_name(column)} "
                f"SET DEFAULT {schema_editor.quote_value(value)}"
            )

    return migrations.RunPython(set_defaults, migrations.RunPython.noop)
