"""Template helpers of the fleet pages: readable values, state badges, ages."""

import json
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from dashboard import labels, markup
from dashboard.cells import cell_renderers

register = template.Library()


@register.filter
def readable(value: object) -> str:
    return labels.readable(value)


@register.simple_tag
def badge(value: object, label: str = "") -> str:
    """A state badge: colour, icon and text together (colour is never the only signal)."""
    tone = labels.tone(value)
    return markup.html(
        '<span class="badge tone-{}"><span class="icon" aria-hidden="true">{}</span>{}</span>',
        tone,
        labels.ICONS.get(tone, "·"),
        label or labels.readable(value),
    )


age = register.filter("age", labels.age)


@register.simple_tag
def when(moment: datetime | None, empty: str = "unknown") -> str:
    """A <time> with the exact moment in its title and its age as text."""
    if moment is None:
        return markup.html('<span class="muted">{}</span>', empty)
    return markup.html(
        '<time datetime="{}" title="{}">{} ago</time>',
        moment.isoformat(),
        timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z"),
        age(moment),
    )


@register.filter
def pretty_json(value: object) -> str:
    """JSON indented for reading (escaped by the template like any text)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.simple_tag
def table_rows(table: object) -> str:
    """The `<tr>`s of a table's page, drawn in Python (a template loop per cell costs a 50-row page
    ~10 ms): each cell as django-tables2 renders it (`dashboard.cells`), each column's `td`
    attributes computed once."""
    columns = [(f"<td {column.attrs['td'].as_html()}>", render) for column, render in cell_renderers(table)]
    rows = [
        "<tr>" + "".join(f"{td}{markup.escape(render(row))}</td>" for td, render in columns) + "</tr>"
        for row in table.paginated_rows
    ]
    if not rows:
        return markup.html('<tr><td class="empty" colspan="{}">{}</td></tr>', len(columns), table.empty_text)
    return mark_safe("".join(rows))  # noqa: S308 (every cell escaped, or markup its renderer marked safe)
