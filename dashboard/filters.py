"""Filter sets of the inventory lists (django-filter, as NetBox does it).

Each filter compares with the stored Palette value; forms show readable labels. A value a filter
cannot take (an unknown choice, a malformed time, a NUL byte) is an error on that filter: the
list view drops it, says so, and applies the rest.
"""

import copy
from collections.abc import Iterator
from datetime import timedelta

import django_filters as filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from dashboard import labels, widgets
from dashboard.access import scope_of
from dashboard.freshness import kept
from dashboard.models import Cluster, ClusterProfile, EdgeHost, FleetCount, PaletteAccount, ProfileUse, Project

UNKNOWN = "unknown"  # the choice that matches an empty stored value
AGES = [
    ("5m", "5 minutes"),
    ("15m", "15 minutes"),
    ("1h", "1 hour"),
    ("6h", "6 hours"),
    ("1d", "1 day"),
    ("7d", "7 days"),
]
AGE_SECONDS = {"m": 60, "h": 3600, "d": 86400}
REMOVED = [("", "live only"), ("recent", "removed in the last 72 h"), ("all", "live and removed (72 h)")]
RECENTLY_REMOVED = timedelta(hours=72)


def visible_accounts(request: object) -> QuerySet:
    """The account choices: those the user's scope shows something of (dashboard/access.py)."""
    accounts = PaletteAccount.objects.only("id", "name")
    return scope_of(request.user).visible_accounts(accounts) if request is not None else accounts


def visible_projects(request: object) -> QuerySet:
    """The project choices: live projects within the user's scope."""
    projects = Project.objects.filter(removed_at__isnull=True).only("id", "name")
    return scope_of(request.user).visible_projects(projects) if request is not None else projects


class NameChoices(forms.models.ModelChoiceIterator):
    """A model choice field's choices as (pk, name) tuples read by `values_list`, not model instances:
    the project filter of every list page offers every project (hundreds of objects a request).
    Kept a few seconds per viewer scope (`kept`) when the field says under which key."""

    def __iter__(self) -> Iterator[tuple[object, str]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        key = getattr(self.field, "kept_as", None)
        if key is None:
            yield from self.queryset.values_list("pk", "name")
        else:
            yield from kept(key, lambda: list(self.queryset.values_list("pk", "name")))


class NamedMultipleChoiceField(filters.fields.ModelMultipleChoiceField):
    """Accounts or projects, offered by name (their `str`)."""

    iterator = NameChoices


class NamedMultipleChoiceFilter(filters.ModelMultipleChoiceFilter):
    """Accounts or projects by name; the offered choices depend only on the queryset function
    (`visible_accounts`, `visible_projects`) and the viewer's scope, the key they are kept under."""

    field_class = NamedMultipleChoiceField

    @property
    def field(self) -> forms.Field:
        field = super().field
        request = self.get_request()
        if request is not None and callable(self.queryset):
            field.kept_as = ("names", self.queryset, scope_of(request.user))
        return field


class Text(filters.CharFilter):
    """A free-text filter of bounded length. Django's CharField refuses NUL characters, which
    PostgreSQL cannot compare (a 500 before): the list drops the filter and says why."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 200)
        super().__init__(*args, **kwargs)


def age(code: str) -> timedelta:
    return timedelta(seconds=int(code[:-1]) * AGE_SECONDS[code[-1]])


def counted_choices(request: object, resource: str, dimension: str) -> list[tuple[str, str]]:
    """The values a field has in the fleet (from the precomputed counts), readable, unknown last.

    At most one query per resource and request, whatever the number of filters and how often the
    form asks; none while the values read in the last PALETTE_BANNER_SECONDS are kept (`kept`).
    """
    cache = getattr(request, "_fleet_values", None)
    if cache is None:
        cache = {}
        if request is not None:
            request._fleet_values = cache
    if resource not in cache:
        cache[resource] = kept(("values", resource), lambda: counted_values(resource))
    values = cache[resource].get(dimension, set())
    choices = [(v, labels.readable(v)) for v in sorted(values - {""}, key=str.lower)]
    return [*choices, (UNKNOWN, "unknown")]


def counted_values(resource: str) -> dict[str, set[str]]:
    """dimension -> the values FleetCount counts for `resource` (one query)."""
    values: dict[str, set[str]] = {}
    for name, value in FleetCount.objects.filter(resource=resource).values_list("dimension", "value").distinct():
        values.setdefault(name, set()).add(value)
    return values


class ValueFilter(filters.MultipleChoiceFilter):
    """A stored value among those the fleet has; "unknown" matches the empty value."""

    def __init__(self, *args: object, resource: str = "", dimension: str = "", **kwargs: object) -> None:
        self.resource, self.dimension = resource, dimension
        kwargs.setdefault("widget", widgets.CheckboxSelectMultiple)
        super().__init__(*args, choices=[], **kwargs)

    @property
    def field(self) -> forms.Field:
        if not hasattr(self, "_field"):
            request = getattr(self.parent, "request", None)
            self.extra["choices"] = counted_choices(request, self.resource, self.dimension)
        return super().field

    def filter(self, qs: QuerySet, value: list[str]) -> QuerySet:
        if not value:
            return qs
        stored = ["" if v == UNKNOWN else v for v in value]
        return qs.filter(**{f"{self.field_name}__in": stored})


class Built(dict):
    """Form fields built for one form: django-filter builds a filter set's form class, and its
    fields, for that filter set alone, so its form takes them as they are rather than deep-copying
    them again (BaseForm.__init__; a dozen fields with their widgets and choices, every request)."""

    def __deepcopy__(self, memo: dict) -> dict:
        return dict(self)


class Declared(dict):
    """A filter set class's filters, copied for each filter set (FilterSet.__init__ deep-copies
    them): each filter with its own `extra`, the one part a filter set changes (the choices of a
    `ValueFilter`); the rest (labels, widget classes, methods, choices declared once) is shared."""

    def __deepcopy__(self, memo: dict) -> dict:
        copies = {}
        for name, declared in self.items():
            filter_ = copies[name] = copy.copy(declared)
            filter_.extra = dict(declared.extra)
            filter_.method = declared.method  # a FilterMethod bound to the copy, not to the declared filter
        return copies


class DrawnInPython(filters.FilterSet):
    """A filter set whose form's inputs and selects are drawn in Python (`widgets.RENDERER`)."""

    @classmethod
    def get_filters(cls) -> Declared:
        return Declared(super().get_filters())

    def get_form_class(self) -> type[forms.Form]:
        form = super().get_form_class()
        form.default_renderer = widgets.RENDERER
        form.base_fields = Built(form.base_fields)
        return form


class FleetFilter(DrawnInPython):
    """What every synced inventory filters on: account, project, search, and live or removed."""

    q = Text(method="search", label="Search")
    # distinct=False: a foreign key matches each row once, and DISTINCT would sort every match.
    account = NamedMultipleChoiceFilter(queryset=visible_accounts, widget=widgets.SelectMultiple, distinct=False)
    project = NamedMultipleChoiceFilter(queryset=visible_projects, widget=widgets.SelectMultiple, distinct=False)
    removed = filters.ChoiceFilter(choices=REMOVED, method="removal", empty_label=None, label="Removed")
    # The row's own columns the search looks in (each has a trigram index on PostgreSQL, migration
    # 0012), and the project's name, looked up first so that the search needs no join.
    SEARCHED: tuple[str, ...] = ("name",)

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        terms = Q()
        for field in self.SEARCHED:
            terms |= Q(**{f"{field}__icontains": value})
        projects = list(Project.objects.filter(name__icontains=value).values_list("id", flat=True)[:500])
        if projects:
            terms |= Q(project_id__in=projects)
        return qs.filter(terms)

    def removal(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs  # applied in `qs`, since the default (live only) must apply without the parameter

    @property
    def qs(self) -> QuerySet:
        qs = super().qs
        removed = self.form.cleaned_data.get("removed") if self.is_bound and self.form.is_valid() else ""
        recent = Q(removed_at__gte=timezone.now() - RECENTLY_REMOVED)
        if removed == "recent":
            return qs.filter(recent)
        if removed == "all":
            return qs.filter(Q(removed_at__isnull=True) | recent)
        return qs.filter(removed_at__isnull=True)


class ClusterFilter(FleetFilter):
    """Filters of the cluster list (issue: pages, /clusters/)."""

    SEARCHED = ("name", "location")  # cloud, state, health, version: their own filters
    cloud_type = ValueFilter(resource="clusters", dimension="cloud_type", label="Cloud")
    state = ValueFilter(resource="clusters", dimension="state", label="State")
    health = ValueFilter(resource="clusters", dimension="health", label="Health")
    kubernetes_version = Text(lookup_expr="istartswith", label="Kubernetes version")
    profile = Text(method="by_profile", label="Profile name")
    profile_version = Text(method="by_profile", label="Profile version")
    behind = filters.BooleanFilter(method="by_behind", label="Behind latest profile", widget=forms.CheckboxInput)
    heartbeat_older = filters.ChoiceFilter(choices=AGES, method="by_heartbeat", label="Heartbeat older than")
    unhealthy_for = filters.ChoiceFilter(choices=AGES, method="by_unhealthy_for", label="Unhealthy longer than")

    class Meta:
        model = Cluster
        fields = ["q", "account", "project", "cloud_type", "state", "health", "kubernetes_version"]

    def by_profile(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        data = self.form.cleaned_data
        uses = ProfileUse.objects.filter(cluster=OuterRef("pk"))
        if data.get("profile"):
            uses = uses.filter(name__iexact=data["profile"])
        if data.get("profile_version"):
            uses = uses.filter(version=data["profile_version"])
        return qs.filter(Exists(uses))

    def by_behind(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None or value is False:
            return qs
        return qs.filter(Exists(ProfileUse.objects.filter(cluster=OuterRef("pk"), behind=True)))

    def by_heartbeat(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(heartbeat_at__lt=timezone.now() - age(value))

    def by_unhealthy_for(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.exclude(health="Healthy").filter(health_since__lt=timezone.now() - age(value))


class EdgeHostFilter(FleetFilter):
    """Filters of the edge-host list: as for clusters, plus the edge API state and the site."""

    SEARCHED = ("name", "host_address", "mac_address", "site", "cluster_name")
    state = ValueFilter(resource="edgehosts", dimension="state", label="State")
    health = ValueFilter(resource="edgehosts", dimension="health", label="Health")
    # A fixed set, stored as is ("unknown" is a stored state, not an empty value): no counted choices.
    edge_api_state = filters.MultipleChoiceFilter(
        choices=[(state, labels.readable(state)) for state in EdgeHost.EdgeApiState.values],
        widget=widgets.CheckboxSelectMultiple,
        label="Edge API",
        distinct=False,  # no join can repeat a host; DISTINCT would sort every match
    )
    # Exact and unstripped, as the site roll-up links to it; as long as the column.
    site = Text(lookup_expr="exact", label="Site", max_length=255, strip=False)
    no_site = filters.BooleanFilter(method="by_no_site", label="No site label", widget=forms.CheckboxInput)
    unhealthy_for = filters.ChoiceFilter(choices=AGES, method="by_unhealthy_for", label="Unhealthy longer than")
    unreadable_for = filters.ChoiceFilter(
        choices=AGES, method="by_unreadable_for", label="Edge API unreadable longer than"
    )
    read_older = filters.ChoiceFilter(choices=AGES, method="by_read_older", label="Edge API not read for")

    class Meta:
        model = EdgeHost
        fields = ["q", "account", "project", "state", "health", "edge_api_state", "site", "no_site"]

    def by_no_site(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        return qs.filter(site="") if value else qs

    def by_unhealthy_for(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(health=EdgeHost.UNHEALTHY, health_since__lt=timezone.now() - age(value))

    def by_unreadable_for(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(edge_api_state__in=EdgeHost.API_PROBLEMS, edge_api_since__lt=timezone.now() - age(value))

    def by_read_older(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        """Hosts whose own API was last read before then, or never (what the reader has not reached)."""
        cutoff = timezone.now() - age(value)
        return qs.filter(Q(edge_api_checked_at__lt=cutoff) | Q(edge_api_checked_at__isnull=True))


# -- The timeline (issue: pages, /timeline/) ----------------------------------------------------------------
# Every filter here is an equality on a column with a `(column, -occurred_at, -id)` index (TimelineEntry.Meta),
# so a page of the newest matches is an index walk at any table size (dashboard/keyset.py).

TIMELINE_KINDS = [("audit", "Audit"), ("event", "Event"), ("transition", "Transition"), ("edge", "Edge API")]
# Palette's severities are free strings (REFERENCE.md 12: events say Normal | Warning); the sync writes
# info | warning for what it observes; audits have none.
SEVERITIES = {
    "info": ("info", "Info", "Normal", "normal"),
    "warning": ("warning", "Warning", "WARNING"),
    "error": ("error", "Error", "ERROR", "critical", "Critical"),
    UNKNOWN: ("",),
}
# The spellings of a subject's kind: transitions say `cluster`, Palette's audits and events `spectrocluster`.
SUBJECT_KINDS = {
    "cluster": ("cluster", "spectrocluster", "SpectroCluster"),
    "clusterprofile": ("clusterprofile", "ClusterProfile"),
    "edgehost": ("edgehost", "EdgeHost"),
    "project": ("project", "Project"),
}
SUBJECT_KIND_ALIASES = {"profile": "clusterprofile", "spectrocluster": "cluster", "edge_host": "edgehost"}
SUBJECT_LIMIT = 200  # the subjects a name search may match: beyond that, type more of the name
LOCAL_TIME = "%Y-%m-%dT%H:%M"


def is_palette_uid(text: str) -> bool:
    """Palette's uids are 24 hex digits: such a search needs no name lookup."""
    return len(text) == 24 and all(c in "0123456789abcdef" for c in text)


class SubjectKindField(filters.fields.ChoiceField):
    """A subject kind, taking `profile` for `clusterprofile` and any letter case."""

    def to_python(self, value: object) -> str:
        value = super().to_python(value).lower()
        return SUBJECT_KIND_ALIASES.get(value, value)


class SubjectKindFilter(filters.ChoiceFilter):
    field_class = SubjectKindField


def local_time(label: str, lookup: str) -> filters.DateTimeFilter:
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_TIME)
    return filters.DateTimeFilter(field_name="occurred_at", lookup_expr=lookup, label=label, widget=widget)


class TimelineFilter(DrawnInPython):
    """Filters of the merged timeline. `q` (the search box) and `subject` both take a uid or part of a name."""

    q = Text(method="by_subject", label="Search")
    # distinct=False: no join can repeat a row, and DISTINCT would sort every match instead of walking an index.
    kind = filters.MultipleChoiceFilter(
        choices=TIMELINE_KINDS, widget=widgets.CheckboxSelectMultiple, label="Kind", distinct=False
    )
    severity = filters.MultipleChoiceFilter(
        choices=[(key, labels.readable(key)) for key in SEVERITIES],
        method="by_severity",
        widget=widgets.CheckboxSelectMultiple,
    )
    account = NamedMultipleChoiceFilter(queryset=visible_accounts, widget=widgets.SelectMultiple, distinct=False)
    project = NamedMultipleChoiceFilter(queryset=visible_projects, widget=widgets.SelectMultiple, distinct=False)
    subject = Text(method="by_subject", label="Subject (uid or name)")
    subject_kind = SubjectKindFilter(
        choices=[
            ("cluster", "Cluster"),
            ("clusterprofile", "Cluster profile"),
            ("edgehost", "Edge host"),
            ("project", "Project"),
        ],
        method="by_subject_kind",
        label="Subject kind",
        empty_label="any",
    )
    actor = Text(field_name="actor", label="Actor (exact)")
    since = local_time("Since", "gte")
    until = local_time("Until", "lte")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []

    def by_severity(self, qs: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return qs
        return qs.filter(severity__in=[spelling for key in value for spelling in SEVERITIES[key]])

    def by_subject_kind(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(subject_kind__in=SUBJECT_KINDS[value]) if value else qs

    def by_subject(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return qs
        uids = [] if is_palette_uid(value) else self.uids_named(value)
        return qs.filter(subject_uid__in=[value, *uids])

    def uids_named(self, text: str) -> list[str]:
        """The uids of clusters, profile versions, edge hosts and projects whose name contains `text` (only those
        of the chosen subject kind, if one is): one query. No index serves a substring, so this scans the names."""
        from dashboard.models import ClusterProfile  # kept out of the shared import line at the top

        models = {"cluster": Cluster, "clusterprofile": ClusterProfile, "edgehost": EdgeHost, "project": Project}
        kind = self.form.cleaned_data.get("subject_kind")
        named = [
            model.objects.filter(name__icontains=text).order_by().values_list("uid", flat=True)
            for model in ([models[kind]] if kind in models else models.values())
        ]
        query = named[0].union(*named[1:], all=True).order_by() if len(named) > 1 else named[0]
        uids = list(query[: SUBJECT_LIMIT + 1])
        if len(uids) > SUBJECT_LIMIT:
            self.notes.append(
                f"“{text[:40]}” names more than {SUBJECT_LIMIT} clusters, profiles, edge hosts and projects: "
                f"showing entries about {SUBJECT_LIMIT} of them. Type more of the name."
            )
        return uids[:SUBJECT_LIMIT]


# -- Cluster profiles (issue: pages, /profiles/) ---------------------------------------------------

SCOPES = [("tenant", "Tenant"), ("project", "Project"), ("system", "System"), (UNKNOWN, "unknown")]

# Palette's values (REFERENCE.md 8, "profiles": `type`; `v1CloudType`): fixed, so the form costs no query.
PROFILE_TYPES = ["cluster", "infra", "add-on", "system"]
CLOUD_TYPES = ["all", "aws", "azure", "gcp", "vsphere", "maas", "nested", "baremetal", "eks", "aks", "edge"]
CLOUD_TYPES += ["apache-cloudstack", "edge-native", "generic", "gke"]


def stored_choices(values: list[str]) -> list[tuple[str, str]]:
    """Stored values with their readable labels, sorted as read, unknown (the empty value) last."""
    return [*sorted(((v, labels.readable(v)) for v in values), key=lambda c: c[1].lower()), (UNKNOWN, "unknown")]


class StoredValueFilter(filters.MultipleChoiceFilter):
    """A stored value among the given ones; "unknown" matches the empty value."""

    def filter(self, qs: QuerySet, value: list[str]) -> QuerySet:
        return qs.filter(**{f"{self.field_name}__in": ["" if v == UNKNOWN else v for v in value]}) if value else qs


class ProfileFilter(FleetFilter):
    """Filters of the profile list. They select version rows; the list groups them into profiles.

    "Has clusters behind" is about a whole profile, so the list applies it after grouping.
    """

    # distinct=False: no join repeats a version row, and DISTINCT would compare every column of every row.
    account = NamedMultipleChoiceFilter(queryset=visible_accounts, widget=widgets.SelectMultiple, distinct=False)
    project = NamedMultipleChoiceFilter(queryset=visible_projects, widget=widgets.SelectMultiple, distinct=False)
    profile_type = StoredValueFilter(
        choices=stored_choices(PROFILE_TYPES), label="Type", widget=widgets.CheckboxSelectMultiple
    )
    cloud_type = StoredValueFilter(
        choices=stored_choices(CLOUD_TYPES), label="Cloud", widget=widgets.CheckboxSelectMultiple
    )
    scope = StoredValueFilter(choices=SCOPES, label="Scope", widget=widgets.CheckboxSelectMultiple)
    behind = filters.BooleanFilter(method="by_behind", label="Has clusters behind", widget=forms.CheckboxInput)

    class Meta:
        model = ClusterProfile
        fields = ["q", "account", "project", "profile_type", "cloud_type", "scope"]

    def by_behind(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        return qs  # a condition on the grouped profile, applied by ProfileList.get_table_data

    @property
    def behind_only(self) -> bool:
        return bool(self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("behind"))
