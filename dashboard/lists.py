"""The declarative inventory list: a queryset, a filter set, a table, a template (NetBox's shape).

Everything a list shows is in its URL: filters, `sort`, `page`, `per_page` and the chosen `cols`.
htmx requests get only the `#table` partial (which also refreshes the filter messages out of
band); a history restore gets the whole page. `?export=csv` streams every row of exactly the
current view. A parameter the list cannot use is dropped with a message, never a 500.
"""

import csv
import functools
from collections.abc import Hashable, Iterable, Iterator

from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet, Sum
from django.db.models.base import ModelState
from django.db.models.query import ModelIterable
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.html import strip_tags
from django.utils.safestring import SafeData
from django.views.decorators.vary import vary_on_headers
from django.views.generic import TemplateView
from django_filters import FilterSet
from django_tables2 import SingleTableMixin, Table
from django_tables2.rows import BoundRows

from dashboard.access import scope_of
from dashboard.freshness import banner, kept
from dashboard.models import FleetCount, SavedView

PER_PAGE = 50
MAX_PER_PAGE = 200


class FleetPaginator(Paginator):
    """Pages a table over a queryset without reading what it does not show.

    The count stops at COUNT_CAP matches ("10,000+"), unless the caller knows the exact total
    (an unfiltered list: the sync's counts) or the first page is not full (then it is the total).
    Given `kept_as`, the count is read as the filters' choices are (`kept`, under that key).
    A deep page (OFFSET 25,000) is read by ids first, from the index alone, then those rows in
    full, so that it does not fetch 25,000 wide rows; so is a page sorted on another table's column
    (the project's name: every row is joined and sorted, better narrow). The first SHALLOW rows of
    a list sorted on its own columns are read at once, in one query rather than two.
    """

    COUNT_CAP = 10_000
    SHALLOW = 1_000

    def __init__(
        self,
        rows: BoundRows,
        per_page: int,
        *args: object,
        total: int | None = None,
        kept_as: Hashable | None = None,
        **kwargs: object,
    ):
        super().__init__(rows, per_page, *args, **kwargs)
        self.rows, self.total, self.kept_as, self.capped = rows, total, kept_as, False

    @cached_property
    def count(self) -> int:
        if self.total is not None:
            return self.total
        queryset = self.rows.data.data

        def matches() -> int:
            return queryset.order_by()[: self.COUNT_CAP + 1].count()

        found = matches() if self.kept_as is None else kept(self.kept_as, matches)
        self.capped = found > self.COUNT_CAP
        return min(found, self.COUNT_CAP)

    def page(self, number: int | str) -> Page:
        queryset = self.rows.data.data
        if queryset._iterable_class is not ModelIterable:  # grouped rows (the profile list): no ids
            return super().page(number)
        order = [*queryset.query.order_by, "pk"]
        if str(number) == "1" and "count" not in self.__dict__:
            # The first page needs no count to be read: when it is not full, it holds the whole list.
            number, bottom = 1, 0
        else:
            number = self.validate_number(number)
            bottom = (number - 1) * self.per_page
        ordered = queryset.order_by(*order)
        joined = any("__" in str(field) for field in order)  # a sort on another table's column
        if bottom < self.SHALLOW and not joined:
            records = built_from_values(ordered[bottom : bottom + self.per_page])
        else:
            ids = list(ordered.values_list("pk", flat=True)[bottom : bottom + self.per_page])
            rows = {row.pk: row for row in built_from_values(queryset.filter(pk__in=ids).order_by())}
            records = [rows[pk] for pk in ids if pk in rows]
        if number == 1 and len(records) < self.per_page:
            self.__dict__["count"] = len(records)  # cached_property's slot: no COUNT(*)
        self.rows.table.attach(records)
        return self._get_page(BoundRows(records, table=self.rows.table), number, self)


def total(counts: QuerySet) -> int | None:
    """The sum of FleetCount rows (None when there are none)."""
    return counts.aggregate(total=Sum("count"))["total"]


def with_names(rows: QuerySet, *relations: str) -> QuerySet:
    """`rows` with each of `relations` read along, but only its name: what pages show of a row's
    project and account (not their JSON documents or sealed secrets)."""
    own = [f.name for f in rows.model._meta.concrete_fields]
    return rows.select_related(*relations).only(*own, *(f"{relation}__name" for relation in relations))


def built_from_values(rows: QuerySet) -> list[Model]:
    """The model objects of `rows` (its fields and annotations; of a `with_names` queryset, also its
    relations' names), built from `values_list()` rather than by the ORM's model loading.

    Django builds a model object through __init__ (signals, a check per field) and a deferred one
    through more: a 50-row page of clusters with their project and account costs about 3 ms more
    than its values. These objects hold what the queryset loads, so fields it does not load stay
    deferred (read on access, as Django's own), and each relation its name.
    """
    model = rows.model
    names, deferring = rows.query.deferred_loading
    fields = [f.attname for f in model._meta.concrete_fields if f.primary_key or (f.name in names) != deferring]
    fields += list(rows.query.annotation_select)
    chosen = rows.query.select_related
    relations = [model._meta.get_field(name) for name in chosen] if isinstance(chosen, dict) else []
    db, found = rows.db, []  # rows.db asks the routers on every call
    for values in rows.values_list(*fields, *(f"{relation.name}__name" for relation in relations)):
        row = bare(model, zip(fields, values[: len(fields)], strict=True), db)
        for relation, name in zip(relations, values[len(fields) :], strict=True):
            pk = row.__dict__[relation.attname]
            owner = None if pk is None else bare(relation.related_model, [("id", pk), ("name", name)], db)
            row._state.fields_cache[relation.name] = owner
        found.append(row)
    return found


def bare(model: type[Model], values: Iterable[tuple[str, object]], db: str) -> Model:
    """A model object holding `values` (attribute names and values), as loaded from `db`."""
    row = model.__new__(model)
    row._state = ModelState()
    row._state.adding, row._state.db = False, db
    row.__dict__.update(values)
    return row


class Counted(Paginator):
    """A paginator told its total (the caller has it from a count it needed anyway): no COUNT(*)."""

    def __init__(self, *args: object, total: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.__dict__["count"] = total  # the slot of Paginator.count, a cached_property


def narrows(value: object) -> bool:
    """Whether a cleaned filter value narrows the list (an empty choice of rows does not)."""
    if isinstance(value, QuerySet):
        return not value.query.is_empty()
    return value not in (None, "", [], False)


class Echo:
    """A file-like object whose write() returns the line, for csv.writer into a streaming response."""

    def write(self, value: str) -> str:
        return value


@method_decorator(vary_on_headers("HX-Request", "HX-History-Restore-Request"), name="dispatch")
class FleetList(SingleTableMixin, TemplateView):
    """A filtered, sorted, paged inventory list with column choice, saved views and CSV export."""

    filterset_class: type[FilterSet]
    table_class: type[Table]
    saved_page: str
    resources: tuple[str, ...]
    title: str
    counted_resource = ""  # the FleetCount resource that holds this list's live total, if any
    partial = "table"

    def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        self.notes: list[str] = []
        self.params = self.clean_params(request.GET)
        self.filterset = self.build_filterset()
        self.object_list = self.filterset.qs
        if self.params.get("export") == "csv":
            return self.export_csv()
        return super().get(request, *args, **kwargs)

    # -- what the URL asks for ------------------------------------------------------------------

    def clean_params(self, query: QueryDict) -> QueryDict:
        """The request's parameters with the paging ones checked; what cannot be used is noted and dropped."""
        params = query.copy()
        for name in ("page", "per_page"):
            value = params.get(name)
            if value is None:
                continue
            limit = MAX_PER_PAGE if name == "per_page" else 10**9
            if not value.isdigit() or not 1 <= int(value) <= limit:
                self.notes.append(f"“{value[:40]}” is not a valid {name.replace('_', ' ')}: ignored.")
                params.pop(name)
        known = dict(self.table_class.optional())
        cols = params.getlist("cols")
        unknown = [c for c in cols if c not in known]
        if unknown:
            self.notes.append(f"Unknown column {', '.join(repr(c[:40]) for c in unknown)}: ignored.")
            params.setlist("cols", [c for c in cols if c in known])
        return params

    def build_filterset(self) -> FilterSet:
        """The filter set on the request; a filter whose value is invalid is dropped with its message."""
        queryset = scope_of(self.request.user).filter(self.get_queryset())  # the only rows any list shows
        filterset = self.filterset_class(self.params, queryset=queryset, request=self.request)
        if filterset.is_valid():
            return filterset
        self.filter_errors = {name: list(errors) for name, errors in filterset.form.errors.items()}
        for name, errors in self.filter_errors.items():
            label = filterset.form.fields[name].label if name in filterset.form.fields else name
            self.notes.append(f"{label}: {' '.join(errors)} This filter was not applied.")
        cleaned = self.params.copy()
        for name in self.filter_errors:
            cleaned.pop(name, None)
        filterset = self.filterset_class(cleaned, queryset=queryset, request=self.request)
        filterset.is_valid()
        return filterset

    def get_queryset(self) -> QuerySet:
        return with_names(self.table_class._meta.model.objects.all(), "project", "account").order_by("name", "pk")

    def chosen_columns(self) -> list[str]:
        return self.params.getlist("cols") or list(self.table_class.DEFAULT)

    # -- the table --------------------------------------------------------------------------------

    def get_table_kwargs(self) -> dict:
        chosen = set(self.chosen_columns())
        if self.params.get("removed"):
            chosen.add("removed_at")
        return {"exclude": [name for name in self.table_class.base_columns if name not in chosen]}

    def get_table(self, **kwargs: object) -> Table:
        self.request.GET = self.params  # RequestConfig reads sort and page from the request
        return super().get_table(**kwargs)

    def get_table_pagination(self, table: Table) -> dict:
        filtered = self.filtered()
        total = self.unfiltered_total() if not filtered else None
        # A count the sync does not keep (a filtered list, the profile list) is kept as that total is:
        # read at most every PALETTE_BANNER_SECONDS per viewer scope and filters (paging through a
        # filtered list counts it once).
        applied = tuple((name, tuple(self.filterset.data.getlist(name))) for name in sorted(self.filterset.filters))
        kept_as = ("count", type(self).__name__, scope_of(self.request.user), applied)
        return {
            "per_page": int(self.params.get("per_page", PER_PAGE)),
            "paginator_class": functools.partial(FleetPaginator, total=total, kept_as=kept_as),
        }

    def filtered(self) -> bool:
        """Whether any filter narrows the list (the default, live rows only, does not)."""
        data = self.filterset.form.cleaned_data if self.filterset.is_bound else {}
        return any(narrows(value) for value in data.values())

    def unfiltered_total(self) -> int | None:
        """The exact number of live rows, when the sync keeps it (FleetCount); None to count them.
        Read as the filters' choices are (`kept`): at most every PALETTE_BANNER_SECONDS per scope."""
        if not self.counted_resource:
            return None
        scope = scope_of(self.request.user)
        counts = FleetCount.objects.filter(
            resource=self.counted_resource, dimension="health", project__removed_at__isnull=True
        )
        return kept(("total", self.counted_resource, scope), lambda: total(scope.filter(counts)))

    def get_template_names(self) -> list[str]:
        htmx = self.request.htmx
        if htmx and not htmx.history_restore_request and not htmx.boosted:
            return [f"{self.template_name}#{self.partial}"]
        return [self.template_name]

    def get_context_data(self, **kwargs: object) -> dict:
        context = super().get_context_data(**kwargs)
        state = self.params.copy()
        for name in ("page", "export"):
            state.pop(name, None)
        export = state.copy()
        export["export"] = "csv"
        context.update(
            title=self.title,
            filter=self.filterset,
            notes=self.notes,
            freshness=banner(self.resources, rows=scope_of(self.request.user)),
            columns=self.table_class.optional(),
            chosen=self.chosen_columns(),
            view_query=state.urlencode(),
            export_query=export.urlencode(),
            saved_page=self.saved_page,
        )
        if not self.request.htmx or self.request.htmx.history_restore_request:
            context["saved_views"] = SavedView.visible_to(self.request.user, self.saved_page)
        return context

    # -- CSV --------------------------------------------------------------------------------------

    def export_csv(self) -> StreamingHttpResponse:
        """Every row of the current view (all pages), streamed, in the chosen columns."""
        table = self.get_table(**self.get_table_kwargs())  # applies the sort to object_list
        columns = [column for column in table.columns if column.visible]
        rows = table.data.data if hasattr(table.data, "data") else self.object_list

        def lines() -> Iterator[str]:
            out = csv.writer(Echo())
            yield out.writerow([str(column.header) for column in columns])
            chunk: list = []
            for record in rows.iterator(chunk_size=1000):
                chunk.append(record)
                if len(chunk) == 1000:
                    yield from self.csv_rows(out, chunk, columns)
                    chunk = []
            yield from self.csv_rows(out, chunk, columns)

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.saved_page}-{stamp}.csv"'
        return response

    def csv_rows(self, out: csv.writer, records: list, columns: list) -> Iterator[str]:
        self.table_class.attach(records)
        table = self.table_class(
            records, exclude=[c for c in self.table_class.base_columns if c not in {column.name for column in columns}]
        )
        for row in table.rows:
            yield out.writerow([cell_text(row.get_cell_value(column.name)) for column in columns])


def cell_text(value: object) -> str:
    """A cell as plain text for CSV: markup the page added is taken off (data is kept as it is, `<b>`
    in a name included), nothing is "None", and a leading formula character is defused."""
    if value is None:
        return ""
    text = strip_tags(value) if isinstance(value, SafeData) else str(value)
    text = text.replace("\xa0", " ").strip()
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
