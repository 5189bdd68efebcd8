"""What the page views share: finding a synced row by uid."""

from django.db.models import F, QuerySet
from django.http import Http404


def get_synced_or_404(queryset: QuerySet, uid: str) -> object:
    """The row with Palette uid `uid` (the live one first, if accounts share a uid), or a 404 page."""
    if "\x00" in uid:  # PostgreSQL cannot compare a NUL character: no such row, not an error
        raise Http404("No uid holds a NUL character.")
    row = queryset.filter(uid=uid).order_by(F("removed_at").asc(nulls_first=True), "account_id").first()
    if row is None:
        raise Http404(f"Nothing with uid “{uid[:80]}” is known here.")
    return row
