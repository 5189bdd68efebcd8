"""A table's cells as django-tables2 renders them, with its per-cell lookups done once per column.

`BoundRow.get_cell(name)` finds the column, builds its accessor, looks for a choices field and
inspects the render method's signature again for every cell: about 60 µs a cell, 24 ms for a
50-row page of 8 columns. `cell_renderers` does that work once per column and returns, for each
visible column, a function of the row that gives what `get_cell` gives: the value found by the
column's accessor (a choices field's display text where tables2 would use it), the column's
default for an empty value, else its render method called with the arguments it asks for.
Columns with a link or of the kinds tables2 treats specially keep tables2's own path.
"""

from collections.abc import Callable

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django_tables2 import A
from django_tables2.columns import BoundColumn
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.rows import BoundRow
from django_tables2.utils import signature

Render = Callable[[BoundRow], object]
ARGUMENTS = {"value", "record", "column", "bound_column", "bound_row", "table"}  # what a render method may ask for


def cell_renderers(table: object) -> list[tuple[BoundColumn, Render]]:
    """(bound column, row -> cell) for every visible column of `table`, in order."""
    return [(column, renderer(table, column)) for column in table.columns]


def renderer(table: object, bound_column: BoundColumn) -> Render:
    column = bound_column.column
    name = bound_column.name
    if bound_column.link or isinstance(column, (BaseLinkColumn, ManyToManyColumn)):
        return lambda row: row.get_cell(name)
    accessor = A(bound_column.accessor)
    empty, default, render = column.empty_values, bound_column.default, bound_column.render
    wanted, catch_all = signature(render)
    if not catch_all and not set(wanted) <= ARGUMENTS:  # tables2 then does not call it either
        return lambda row: None
    resolve = resolver(accessor)
    display: list[str | None] = []  # found on the first row: the get_FOO_display of a choices field, or None

    def value_of(record: object) -> object:
        if not display:
            display.append(display_method(accessor, record))
        if display[0] is not None:
            penultimate, _ = accessor.penultimate(record)
            return getattr(penultimate, display[0])()
        try:
            return resolve(record)
        except Exception:  # as tables2: a column with no such attribute renders its default
            return None

    if catch_all or set(wanted) - {"value", "record"}:

        def call(value: object, row: BoundRow) -> object:
            arguments = {
                "value": value,
                "record": row.record,
                "column": column,
                "bound_column": bound_column,
                "bound_row": row,
                "table": table,
            }
            return render(**(arguments if catch_all else {key: arguments[key] for key in wanted}))

    elif set(wanted) == {"value", "record"}:
        call = lambda value, row: render(value=value, record=row.record)  # noqa: E731
    elif set(wanted) == {"record"}:
        call = lambda value, row: render(record=row.record)  # noqa: E731
    elif set(wanted) == {"value"}:
        call = lambda value, row: render(value=value)  # noqa: E731
    else:
        call = lambda value, row: render()  # noqa: E731

    def cell(row: BoundRow) -> object:
        value = value_of(row.record)
        return default if value in empty else call(value, row)

    return cell


def resolver(accessor: A) -> Callable[[object], object]:
    """`accessor.resolve` for the records lists show: attribute lookups, done without trying each
    bit as a key first (an exception per bit on a model object). Dicts and other records go
    through tables2's own `resolve`."""
    bits = accessor.bits

    def resolve(record: object) -> object:
        if isinstance(record, dict) or not hasattr(record, "__dict__"):
            return accessor.resolve(record)
        current = record
        for bit in bits:
            current = getattr(current, bit)
            if callable(current):
                if getattr(current, "alters_data", False):
                    raise ValueError(f"Refusing to call {current!r} because `.alters_data = True`")
                if not getattr(current, "do_not_call_in_templates", False):
                    current = current()
            if current is None:
                break
        return current

    return resolve


def display_method(accessor: A, record: object) -> str | None:
    """The name of the get_FOO_display method tables2 would call for this accessor, if any."""
    penultimate, remainder = accessor.penultimate(record)
    if not isinstance(penultimate, models.Model):
        return None
    try:
        field = accessor.get_field(record)
    except FieldDoesNotExist:
        return None
    method = f"get_{remainder}_display"
    return method if getattr(field, "choices", ()) and hasattr(penultimate, method) else None
