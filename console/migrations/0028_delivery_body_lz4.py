"""The raw push bodies compressed with lz4 instead of pglz (PostgreSQL 14+ built with lz4).

A push of 50 CDRs keeps ~35-45 kB of raw body; PostgreSQL compressed it with pglz in about half a
millisecond of CPU, lz4 in half that and to the same size (issue 19, docs/benchmarks.md). Rows
already stored keep their pglz values and read as before; only new values are written with lz4.
A server without lz4 keeps pglz (a notice, not an error). Nothing to do on SQLite.
"""

from django.db import migrations

FORWARD = """
DO $$ BEGIN
    ALTER TABLE {table} ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available on this server: the raw bodies stay compressed with pglz';
END $$;
"""
BACKWARD = "ALTER TABLE {table} ALTER COLUMN body SET COMPRESSION DEFAULT"


def _table(apps, schema_editor) -> str:
    model = apps.get_model("console", "Delivery")
    return schema_editor.quote_name(model._meta.db_table)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD.format(table=_table(apps, schema_editor)))


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD.format(table=_table(apps, schema_editor)))


class Migration(migrations.Migration):
    dependencies = [("console", "0027_retention_call_history")]

    operations = [migrations.RunPython(forward, backward)]
