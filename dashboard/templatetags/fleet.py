"""Template helpers of the fleet pages: readable values, state badges, ages."""

import json
from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from dashboard import labels

register = template.Library()


@register.filter
def readable(value: object) -> str:
    return labels.readable(value)


@register.simple_tag
def badge(value: object, label: str = "") -> str:
    """A state badge: colour, icon and text together (colour is never the only signal)."""
    tone = labels.tone(value)
    return format_html(
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
        return format_html('<span class="muted">{}</span>', empty)
    return format_html(
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
    ~10 ms): each cell as django-tables2 renders it, each column's `td` attributes computed once."""
    columns = [(column.name, column.attrs["td"].as_html()) for column in table.columns]
    rows = [
        format_html(
            "<tr>{}</tr>",
            format_html_join("", "<td {}>{}</td>", ((attrs, row.get_cell(name)) for name, attrs in columns)),
        )
        for row in table.paginated_rows
    ]
    if not rows:
        return format_html('<tr><td class="empty" colspan="{}">{}</td></tr>', len(columns), table.empty_text)
    return mark_safe("".join(rows))  # noqa: S308 (each row was built by format_html)
