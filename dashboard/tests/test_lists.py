"""The list machinery's own parts (dashboard/lists.py)."""

import pytest

from dashboard.lists import built_from_values, with_names
from dashboard.models import Cluster
from dashboard.tests.factories import ClusterFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_rows_built_from_values_read_as_the_orms_own(django_assert_num_queries) -> None:
    """Every field the queryset loads, each relation's name (or None), the primary key and
    `refresh_from_db`-style reads of a field it does not load: the same as Django's objects."""
    project = ProjectFactory(name="<b>shop</b>")
    ClusterFactory(project=project, name="with-project", health="UnHealthy", node_count=3)
    ClusterFactory(project=None, account=project.account, name="tenant-level", raw={"k": "v"})
    rows = with_names(Cluster.objects.all(), "project", "account").defer("raw").order_by("name")

    orm = {c.pk: c for c in rows}
    with django_assert_num_queries(1):
        built = built_from_values(rows)
        shown = [(c.pk, c.name, c.health, c.node_count, c.project and c.project.name, c.account.name) for c in built]
    assert shown == [
        (c.pk, c.name, c.health, c.node_count, c.project and c.project.name, c.account.name) for c in orm.values()
    ]
    for row in built:
        theirs = orm[row.pk]
        loaded = [f.attname for f in Cluster._meta.concrete_fields if f.name != "raw"]
        assert {a: getattr(row, a) for a in loaded} == {a: getattr(theirs, a) for a in loaded}
        assert row.get_deferred_fields() == theirs.get_deferred_fields() == {"raw"}
        assert row.raw == Cluster.objects.get(pk=row.pk).raw  # a field not loaded is read on access
    tenant_level = next(row for row in built if row.name == "tenant-level")
    assert tenant_level.project is None and tenant_level.project_id is None


@pytest.mark.parametrize(
    ("query", "by_ids"),
    [
        ({"page": "1"}, False),  # within the first SHALLOW rows, sorted on the list's own columns: one query
        ({"page": "3"}, True),  # past them: ids from the index first, then those rows
        ({"page": "1", "sort": "project"}, True),  # sorted on another table's column: narrow rows sorted
    ],
)
def test_a_page_reads_its_rows_at_once_or_by_ids_first(member, monkeypatch, query: dict, by_ids: bool) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard.lists import FleetPaginator

    monkeypatch.setattr(FleetPaginator, "SHALLOW", 4)
    project = ProjectFactory(name="only")
    for n in range(7):
        ClusterFactory(project=project, name=f"c{n}")
    with CaptureQueriesContext(connection) as captured:
        page = member.get("/clusters/", {"per_page": "2", **query}).content.decode()
    shown = [f"c{n}" for n in range(7) if f">c{n}</a>" in page]
    first = 2 * (int(query["page"]) - 1)
    assert shown == [f"c{n}" for n in range(first, first + 2)]
    ids_first = [q["sql"] for q in captured if 'AS "pk" FROM "dashboard_cluster"' in q["sql"]]
    assert bool(ids_first) is by_ids


def test_each_filter_set_has_its_own_filters_and_fields() -> None:
    """Filter sets copy their class's filters lightly (filters.Declared) and their forms take their
    fields as built (filters.Built): nothing a filter set changes may reach another one."""
    from dashboard.filters import ClusterFilter

    first = ClusterFilter({"behind": "on"}, queryset=Cluster.objects.all())
    second = ClusterFilter({}, queryset=Cluster.objects.all())
    assert first.is_valid() and second.is_valid()
    for name, declared in ClusterFilter.base_filters.items():
        mine, theirs = first.filters[name], second.filters[name]
        assert mine is not theirs and mine is not declared
        assert (mine.parent, theirs.parent) == (first, second)
        assert mine.extra is not theirs.extra and mine.extra is not declared.extra
        if declared.method:
            assert mine.filter.f is mine and theirs.filter.f is theirs  # each method bound to its own filter
        assert first.form.fields[name] is not second.form.fields[name]
    assert ("unknown", "unknown") in first.filters["state"].extra["choices"]  # this request's choices
    assert ClusterFilter.base_filters["state"].extra["choices"] == []  # stay its own
    assert list(first.qs) == [] and str(first.qs.query) != str(second.qs.query)


def test_each_table_has_its_own_columns() -> None:
    """Tables copy their class's columns lightly (tables.Columns): what one table changes in its
    columns (which show) reaches neither its class nor another table."""
    from dashboard.tables import ClusterTable

    first, second = ClusterTable([]), ClusterTable([])
    first.columns.hide("state")
    assert not first.columns["state"].visible
    assert second.columns["state"].visible and ClusterTable.base_columns["state"].visible
    assert first.columns["state"].column is not ClusterTable.base_columns["state"]
    assert [c.name for c in ClusterTable([]).columns] == list(ClusterTable([]).sequence)
