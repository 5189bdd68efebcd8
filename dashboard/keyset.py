"""Keyset paging newest first over (occurred_at, id): no COUNT(*), no OFFSET, as fast on page 1,000 as on page 1.

A cursor is a signed "<iso time>|<id>" of the row a page continues from: `before` pages to older rows,
`after` to newer ones. Either filter reads as `occurred_at <= t AND (occurred_at < t OR id < i)`, so the
database walks the `(…, -occurred_at, -id)` index of the active filter and can prune time partitions.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.db.models import Model, Q, QuerySet

SALT = "dashboard.keyset"


class BadCursor(ValueError):
    """A cursor that is garbled, altered or from another install."""


@dataclass
class Page:
    rows: list
    older: str = ""  # cursor of the next older page, "" on the oldest
    newer: str = ""  # cursor of the next newer page, "" on the newest


def encode(row: Model) -> str:
    return signing.dumps(f"{row.occurred_at.isoformat()}|{row.pk}", salt=SALT)


def decode(cursor: str) -> tuple[datetime, int]:
    try:
        moment, _, pk = signing.loads(cursor, salt=SALT).partition("|")
        return datetime.fromisoformat(moment), int(pk)
    except (signing.BadSignature, ValueError, TypeError, AttributeError) as error:
        raise BadCursor(cursor[:40]) from error


def page(queryset: QuerySet, size: int, before: str = "", after: str = "") -> Page:
    """`size` rows newest first: the newest, those older than `before`, or those newer than `after`.

    Fetches size + 1 rows to learn whether there is a further page. Raises BadCursor.
    """
    if after:
        t, i = decode(after)
        newer = queryset.filter(occurred_at__gte=t).filter(Q(occurred_at__gt=t) | Q(occurred_at=t, id__gt=i))
        rows = list(newer.order_by("occurred_at", "id")[: size + 1])
        if len(rows) > size:  # a full page with more above it; otherwise the newest page is the one to show
            rows = rows[:size][::-1]
            return Page(rows, older=encode(rows[-1]), newer=encode(rows[0]))
    newest = queryset.order_by("-occurred_at", "-id")
    if before:
        t, i = decode(before)
        newest = newest.filter(occurred_at__lte=t).filter(Q(occurred_at__lt=t) | Q(occurred_at=t, id__lt=i))
    rows = list(newest[: size + 1])
    more, rows = len(rows) > size, rows[:size]
    return Page(rows, older=encode(rows[-1]) if more else "", newer=encode(rows[0]) if before and rows else "")
