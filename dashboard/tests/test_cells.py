"""dashboard.cells draws every cell exactly as django-tables2's own `BoundRow.get_cell` does."""

from datetime import timedelta

import django_tables2 as tables
import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.cells import cell_renderers
from dashboard.links import detail_url
from dashboard.models import EdgeHost
from dashboard.tables import ClusterTable, EdgeHostTable
from dashboard.tests.factories import AccountFactory, ClusterFactory, EdgeHostFactory

pytestmark = pytest.mark.django_db
HOSTILE = "<script>alert(\"x\")</script> \u202eRTL & 'quotes'"


def every_column(table_class: type) -> list[str]:
    return list(table_class.base_columns)


def assert_same_cells(table: object) -> None:
    renderers = cell_renderers(table)
    assert len(renderers) == len(table.columns) > 5
    for row in table.rows:
        for column, render in renderers:
            assert str(render(row)) == str(row.get_cell(column.name)), column.name


def test_cluster_cells_are_tables2_cells() -> None:
    an_hour_ago = timezone.now() - timedelta(hours=1)
    ClusterFactory(name=HOSTILE, health="UnHealthy", health_since=an_hour_ago, heartbeat_at=an_hour_ago)
    ClusterFactory(state="", health="", kubernetes_version="", node_count=None, project=None, account=AccountFactory())
    ClusterFactory(node_count=3, nodes_healthy=2, location="eu-west", removed_at=timezone.now())
    clusters = list(ClusterTable._meta.model.objects.select_related("project", "account"))
    ClusterTable.attach(clusters)  # as the list's pages and CSV chunks are
    table = ClusterTable(clusters, exclude=())
    assert set(c.name for c in table.columns) == set(every_column(ClusterTable))
    assert_same_cells(table)


def test_edge_host_cells_are_tables2_cells() -> None:
    EdgeHostFactory(name=HOSTILE, site=HOSTILE, edge_api_state=EdgeHost.EdgeApiState.UNREACHABLE)
    EdgeHostFactory(site="", os="", health="", edge_api_error="timed out", cluster_uid="c1", cluster_name="")
    table = EdgeHostTable(EdgeHost.objects.select_related("project", "account"), exclude=())
    assert_same_cells(table)


class PlainTable(tables.Table):
    """Columns without render methods: a choices field (tables2 shows its display text), a related
    name with a default, and a missing attribute."""

    edge_api_state = tables.Column()
    project = tables.Column(accessor="project__name", default="none")
    nothing = tables.Column(accessor="no_such_attribute", default="n/a")
    name = tables.Column()

    class Meta:
        model = EdgeHost
        fields = ()


def test_plain_columns_are_tables2_cells() -> None:
    EdgeHostFactory(name=HOSTILE, edge_api_state=EdgeHost.EdgeApiState.UNREACHABLE)
    EdgeHostFactory(project=None, account=AccountFactory())
    table = PlainTable(EdgeHost.objects.select_related("project").order_by("pk"))
    cells = [[str(render(row)) for _, render in cell_renderers(table)] for row in table.rows]
    unreachable = EdgeHost.EdgeApiState.UNREACHABLE.label
    assert cells[0][0] == unreachable != EdgeHost.EdgeApiState.UNREACHABLE.value  # the display text
    assert cells[1][1:3] == ["none", "n/a"]
    for row, drawn in zip(table.rows, cells, strict=True):
        assert drawn == [str(row.get_cell(column.name)) for column in table.columns]


@pytest.mark.parametrize("uid", ["57752b9520197b57b61a754d", "a-b_C", "..", "a b", "é", "<b>", "%2F", "0uid0", "x.y"])
@pytest.mark.parametrize("name", ["dashboard:cluster_detail", "dashboard:edgehost_detail", "dashboard:profile_detail"])
def test_a_row_links_to_the_path_reverse_gives(name: str, uid: str) -> None:
    assert detail_url(name, uid) == reverse(name, args=[uid])
