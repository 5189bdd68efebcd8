"""The merged timeline (issue: pages, /timeline/): audits, events, observed transitions and edge API changes.

Newest first with keyset paging (dashboard/keyset.py): no COUNT(*) and no OFFSET, so a page costs one
index walk at 5,000,000 rows. Filters, the page cursor and saved views live in the URL; htmx swaps
`#table`; `?export=csv` streams the filtered view. A value the page cannot use is a message, never a 500.
"""

import csv
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import freshness, keyset
from dashboard.access import scope_of
from dashboard.filters import TimelineFilter
from dashboard.lists import Echo
from dashboard.models import SavedView, TimelineEntry

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
PAGING = ("before", "after", "export")
CSV_COLUMNS = [
    ("occurred_at", "Occurred at"),
    ("kind", "Kind"),
    ("severity", "Severity"),
    ("account__name", "Account"),
    ("project__name", "Project"),
    ("subject_kind", "Subject kind"),
    ("subject_uid", "Subject uid"),
    ("subject_name", "Subject"),
    ("actor", "Actor"),
    ("action", "Action"),
    ("message", "Message"),
]


@require_GET
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def timeline_list(request: HttpRequest) -> HttpResponse:
    """A page of the timeline under the URL's filters, or the filtered view as CSV."""
    notes: list[str] = []
    filterset = build_filterset(request, notes)
    entries = filterset.qs
    notes.extend(filterset.notes)
    if request.GET.get("export") == "csv":
        return export_csv(entries)
    try:
        page = keyset.page(
            entries.defer("details"), PAGE_SIZE, request.GET.get("before", ""), request.GET.get("after", "")
        )
    except keyset.BadCursor:
        notes.append("That page link is garbled or was altered: showing the newest entries instead.")
        page = keyset.page(entries.defer("details"), PAGE_SIZE)
    state = request.GET.copy()
    for name in PAGING:
        state.pop(name, None)
    context = {
        "title": "Timeline",
        "filter": filterset,
        "form": getattr(filterset, "shown_form", filterset.form),
        "filtered": any(value for name, value in state.items() if name in filterset.filters),
        "notes": notes,
        "page": page,
        "view_query": state.urlencode(),
        "export_query": with_param(state, "export", "csv"),
        "older_query": with_param(state, "before", page.older) if page.older else "",
        "newer_query": with_param(state, "after", page.newer) if page.newer else "",
        "newest_query": state.urlencode(),
        "paged": bool(request.GET.get("before") or request.GET.get("after")),
        "freshness": freshness.banner(freshness.TIMELINE, rows=scope_of(request.user)),
        "saved_page": SavedView.Page.TIMELINE,
        "page_size": PAGE_SIZE,
    }
    htmx = request.htmx
    if htmx and not htmx.history_restore_request and not htmx.boosted:
        return render(request, "dashboard/timeline.html#table", context)
    context["saved_views"] = SavedView.visible_to(request.user, SavedView.Page.TIMELINE)
    return render(request, "dashboard/timeline.html", context)


def build_filterset(request: HttpRequest, notes: list[str]) -> TimelineFilter:
    """The filters of the URL; one whose value is invalid (`since=yesterday`) is dropped with its message."""
    queryset = scope_of(request.user).filter(TimelineEntry.objects.all())  # every row the timeline shows or exports
    filterset = TimelineFilter(request.GET, queryset=queryset, request=request)
    if filterset.is_valid():
        return filterset
    params = request.GET.copy()
    for name, errors in filterset.form.errors.items():
        label = filterset.form.fields[name].label if name in filterset.form.fields else name
        notes.append(f"{label}: {' '.join(errors)} This filter was not applied.")
        params.pop(name, None)
    applied = TimelineFilter(params, queryset=queryset, request=request)
    applied.is_valid()
    applied.shown_form = filterset.form  # the form keeps the refused value and its error beside the field
    return applied


def with_param(query: QueryDict, name: str, value: str) -> str:
    changed = query.copy()
    changed[name] = value
    return changed.urlencode()


def export_csv(entries: object) -> StreamingHttpResponse:
    """Every entry of the filtered view, newest first, streamed; at most EXPORT_LIMIT rows, with a note if cut."""
    rows = entries.order_by("-occurred_at", "-id").values_list(*(field for field, _ in CSV_COLUMNS))

    def lines() -> Iterator[str]:
        out = csv.writer(Echo())
        yield out.writerow([header for _, header in CSV_COLUMNS])
        for n, row in enumerate(rows[: EXPORT_LIMIT + 1].iterator(chunk_size=2000)):
            if n == EXPORT_LIMIT:
                yield out.writerow(
                    [f"# cut at {EXPORT_LIMIT:,} rows: narrow the filters (e.g. since/until) for the rest"]
                )
                return
            yield out.writerow([row[0].isoformat(), *(defused(value) for value in row[1:])])

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="timeline-{stamp}.csv"'
    return response


def defused(value: object) -> str:
    """A cell as text, a leading formula character defused (Palette's messages are not ours to trust)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
