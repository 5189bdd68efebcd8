"""Filter sets of the inventory lists (django-filter, as NetBox does it).

Each filter compares with the stored Palette value; forms show readable labels. A value a filter
cannot take (an unknown choice, a malformed time, a NUL byte) is an error on that filter: the
list view drops it, says so, and applies the rest.
"""

from datetime import timedelta

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from dashboard import labels
from dashboard.models import Cluster, EdgeHost, FleetCount, PaletteAccount, ProfileUse, Project

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


def no_nul(value: str) -> None:
    """PostgreSQL cannot store or compare a NUL character: refuse it with a message, not a 500."""
    if "\x00" in value:
        raise ValidationError("contains a NUL character")


class Text(filters.CharFilter):
    """A free-text filter that refuses NUL characters and over-long input."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("validators", [no_nul])
        kwargs.setdefault("max_length", 200)
        super().__init__(*args, **kwargs)


def age(code: str) -> timedelta:
    return timedelta(seconds=int(code[:-1]) * AGE_SECONDS[code[-1]])


def counted_choices(resource: str, dimension: str) -> list[tuple[str, str]]:
    """The values a field has in the fleet (from the precomputed counts), readable, unknown last."""
    values = set(
        FleetCount.objects.filter(resource=resource, dimension=dimension).values_list("value", flat=True).distinct()
    )
    choices = [(v, labels.readable(v)) for v in sorted(values - {""}, key=str.lower)]
    return [*choices, (UNKNOWN, "unknown")]


class ValueFilter(filters.MultipleChoiceFilter):
    """A stored value among those the fleet has; "unknown" matches the empty value."""

    def __init__(self, *args: object, resource: str = "", dimension: str = "", **kwargs: object) -> None:
        self.resource, self.dimension = resource, dimension
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(*args, choices=lambda: counted_choices(self.resource, self.dimension), **kwargs)

    def filter(self, qs: QuerySet, value: list[str]) -> QuerySet:
        if not value:
            return qs
        stored = ["" if v == UNKNOWN else v for v in value]
        return qs.filter(**{f"{self.field_name}__in": stored})


class FleetFilter(filters.FilterSet):
    """What every synced inventory filters on: account, project, search, and live or removed."""

    q = Text(method="search", label="Search")
    account = filters.ModelMultipleChoiceFilter(queryset=PaletteAccount.objects.all(), widget=forms.SelectMultiple)
    project = filters.ModelMultipleChoiceFilter(
        queryset=Project.objects.filter(removed_at__isnull=True), widget=forms.SelectMultiple
    )
    removed = filters.ChoiceFilter(choices=REMOVED, method="removal", empty_label=None, label="Removed")
    SEARCHED: tuple[str, ...] = ("name",)

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        terms = Q()
        for field in self.SEARCHED:
            terms |= Q(**{f"{field}__icontains": value})
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

    SEARCHED = ("name", "project__name", "cloud_type", "kubernetes_version", "location")
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

    SEARCHED = ("name", "project__name", "host_address", "site", "cluster_name", "os")
    state = ValueFilter(resource="edgehosts", dimension="state", label="State")
    health = ValueFilter(resource="edgehosts", dimension="health", label="Health")
    edge_api_state = ValueFilter(resource="edgehosts", dimension="edge_api_state", label="Edge API")
    site = Text(lookup_expr="exact", label="Site")
    unhealthy_for = filters.ChoiceFilter(choices=AGES, method="by_unhealthy_for", label="Unhealthy longer than")

    class Meta:
        model = EdgeHost
        fields = ["q", "account", "project", "state", "health", "edge_api_state", "site"]

    def by_unhealthy_for(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(health="unhealthy", health_since__lt=timezone.now() - age(value))
