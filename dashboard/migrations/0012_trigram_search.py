"""Trigram indexes for the lists' free-text search on PostgreSQL (`icontains` is UPPER(col) LIKE
UPPER('%term%'), which a B-tree cannot serve). SQLite keeps its plain scan: nothing to do there."""

from django.db import migrations

# (table, column): the columns the list searches (dashboard/filters.py SEARCHED), live rows only.
SEARCHED = [
    ("dashboard_cluster", "name"),
    ("dashboard_cluster", "location"),
    ("dashboard_edgehost", "name"),
    ("dashboard_edgehost", "host_address"),
    ("dashboard_edgehost", "mac_address"),
    ("dashboard_edgehost", "site"),
    ("dashboard_edgehost", "cluster_name"),
    ("dashboard_clusterprofile", "name"),
]


def name(table: str, column: str) -> str:
    return f"{table.removeprefix('dashboard_')}_{column}_trgm"


def forwards(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension: the database's owner may create it without superuser rights.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in SEARCHED:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name(table, column)} ON {table} '
            f'USING gin (UPPER("{column}") gin_trgm_ops) WHERE removed_at IS NULL'
        )


def backwards(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in SEARCHED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name(table, column)}")


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0011_page_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
