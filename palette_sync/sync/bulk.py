"""Bulk inserts and updates, the sync's hot path: on PostgreSQL a batch travels as one JSON document.

`bulk_create` of 500 model instances prepares each of their fields in Python (some 15,000
calls per batch), then psycopg writes every column as an array literal, escaping each quote of
each stored JSON document with a regular expression: most of a full sync's CPU went there.
Here a batch of plain dicts is encoded once by the C JSON encoder and expanded back into rows by
PostgreSQL's `jsonb_to_recordset`, each column read as its own type, so the rows stored are the
same. Updates likewise: `bulk_update` builds a CASE WHEN per field and row, and resolving those
expressions cost more CPU than reading the edge hosts' facts. Other databases (SQLite, in
development) take `bulk_create` and `bulk_update` as before.
"""

import json
from datetime import datetime
from functools import cache

from django.db import connection
from django.utils import timezone

BATCH = 500


def insert(
    model: type,
    rows: list[dict],
    *,
    ignore_conflicts: bool = False,
    update: list[str] | None = None,
    unique: tuple[str, ...] = (),
) -> int | None:
    """Insert `rows` (field attnames -> values; the fields left out take their defaults), as
    `bulk_create` would: a conflict with a stored row fails the insert, or with `ignore_conflicts`
    skips the row, or with `update` overwrites the stored row's `update` fields (keyed on `unique`).

    Returns how many rows were inserted or updated (skipped ones are not), or None where the
    database does not say (bulk_create).
    """
    if not rows:
        return 0
    if not counts_rows():
        if update:
            conflicts = {"update_conflicts": True, "unique_fields": list(unique), "update_fields": update}
        else:
            conflicts = {"ignore_conflicts": ignore_conflicts}
        model.objects.bulk_create([model(**row) for row in rows], batch_size=BATCH, **conflicts)
        return None
    columns = table_columns(model)
    sql = insert_sql(model, tuple(columns), ignore_conflicts, tuple(update or ()), unique)
    written = 0
    with connection.cursor() as cursor:
        for i in range(0, len(rows), BATCH):
            cursor.execute(sql, [document([{**columns, **row} for row in rows[i : i + BATCH]])])
            written += cursor.rowcount
    return written


def update(model: type, objs: list, fields: tuple[str, ...]) -> None:
    """Store `fields` of the model instances `objs` (primary key "id"), as `bulk_update` would."""
    if not objs:
        return
    if not counts_rows():
        model.objects.bulk_update(objs, list(fields), batch_size=BATCH)
        return
    with connection.cursor() as cursor:
        for i in range(0, len(objs), BATCH):
            rows = [{"id": obj.pk, **{name: getattr(obj, name) for name in fields}} for obj in objs[i : i + BATCH]]
            cursor.execute(update_sql(model, fields), [document(rows)])


def counts_rows() -> bool:
    """Whether `insert` says how many rows it wrote: on PostgreSQL, not through bulk_create."""
    return connection.vendor == "postgresql"


@cache
def table_columns(model: type) -> dict[str, object]:
    """Every column but the primary key, by attname, with its default (a callable default called once:
    the defaults of synced models are constants or empty containers that json.dumps only reads)."""
    return {f.attname: f.get_default() for f in model._meta.concrete_fields if not f.primary_key}


@cache
def insert_sql(
    model: type, columns: tuple[str, ...], ignore_conflicts: bool, update: tuple[str, ...], unique: tuple[str, ...]
) -> str:
    """INSERT ... SELECT from one JSON parameter, the columns in `columns` (attnames) order."""
    quote = connection.ops.quote_name

    def column(name: str) -> str:  # a field's name or attname
        return quote(model._meta.get_field(name).column)

    names = ", ".join(column(c) for c in columns)
    if update:
        target = ", ".join(column(name) for name in unique)
        changes = ", ".join(f"{column(name)} = EXCLUDED.{column(name)}" for name in update)
        conflict = f"ON CONFLICT ({target}) DO UPDATE SET {changes}"
    else:
        conflict = "ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    # Only quoted names of the model's own columns go into the text; the rows are the one parameter.
    table = quote(model._meta.db_table)
    sql = f"INSERT INTO {table} ({names}) SELECT {names} FROM {recordset(model, columns)}"  # noqa: S608
    return f"{sql} {conflict}".rstrip()


@cache
def update_sql(model: type, fields: tuple[str, ...]) -> str:
    """UPDATE `fields` of the rows of one JSON parameter, keyed by the primary key ("id")."""
    quote = connection.ops.quote_name
    pk = quote(model._meta.pk.column)
    changes = ", ".join(f"{quote(c)} = r.{quote(c)}" for c in (model._meta.get_field(f).column for f in fields))
    table = quote(model._meta.db_table)
    # Only quoted names of the model's own columns go into the text; the rows are the one parameter.
    return f"UPDATE {table} SET {changes} FROM {recordset(model, ('id', *fields))} WHERE {table}.{pk} = r.{pk}"  # noqa: S608


def recordset(model: type, fields: tuple[str, ...]) -> str:
    """The one JSON parameter as rows of `fields` (names or attnames), each column read as its own type."""
    quote = connection.ops.quote_name
    types = ", ".join(
        f"{quote(f.column)} {f.db_type(connection)}" for f in (model._meta.get_field(name) for name in fields)
    )
    return f"jsonb_to_recordset(%s::jsonb) AS r({types})"


def document(rows: list[dict]) -> str:
    """`rows` as the JSON parameter of `insert_sql` and `update_sql`."""
    return json.dumps(rows, default=json_value)


def json_value(value: object) -> str:
    """A date-time as PostgreSQL reads it; a naive one is taken in the current time zone, as Django does."""
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.isoformat()
    raise TypeError(f"{value.__class__.__name__} is not stored through JSON")
