"""What the spec leaves optional is optional, and what it leaves unbounded is unbounded: items made
from the published definitions (any optional field absent, strings empty, huge, or hostile) land in
the inventory whole, each one, and never take their listing down."""

import pytest

from dashboard.models import Cluster, ClusterProfile, EdgeHost, PaletteAccount, Project, TimelineEntry
from palette_sync import mappers
from palette_sync.sync.inventory import CLUSTERS, EDGEHOSTS, PROFILES
from palette_sync.sync.listing import consume
from palette_sync.sync.runs import Recorder
from palette_sync.sync.timeline import record
from palette_sync.tests.spec_objects import objects

pytestmark = pytest.mark.django_db
COUNT = 150


@pytest.fixture
def project(account: PaletteAccount) -> Project:
    return Project.objects.create(
        account=account, uid="p" * 24, name="p", first_seen_at="2026-01-01T00:00Z", last_seen_at="2026-01-01T00:00Z"
    )


class NoClient:
    """The sync records what a client spent; these items come from no client at all."""

    class stats:  # noqa: N801 (the client's attribute)
        @staticmethod
        def snapshot() -> object:
            return NoClient.stats

        @staticmethod
        def since(_: object) -> object:
            return type("Spent", (), {"requests": {}, "throttled": 0})()


@pytest.mark.parametrize(
    ("definition", "source", "model"),
    [
        ("v1SpectroClusterSummary", CLUSTERS, Cluster),
        ("v1ClusterProfileSummary", PROFILES, ClusterProfile),
        ("v1EdgeHostsMetadata", EDGEHOSTS, EdgeHost),
    ],
)
def test_every_item_the_spec_allows_is_stored_whole(account, project, definition, source, model) -> None:
    items = list(objects(definition, COUNT))
    run = consume(
        Recorder(account, source.resource, project, NoClient()),
        source,
        items,
        project_for=lambda v: project.pk,
        accept=lambda v: True,
    )
    assert run.status == "ok", run.errors
    assert run.errors == [] and model.objects.count() == COUNT  # no item left out
    for item in items:
        row = model.objects.get(uid=item["metadata"]["uid"])
        assert row.raw == item
        name = item["metadata"].get("name")
        if isinstance(name, str) and len(name.encode()) <= mappers.INDEXED_BYTES:
            assert row.name == name  # never cut to fit a column
        elif isinstance(name, str):
            assert name.startswith(row.name.removesuffix("…"))  # the indexed column keeps its first KB


def test_long_free_text_is_kept_whole(account, project) -> None:
    items = list(objects("v1EdgeHostsMetadata", COUNT, seed=3))
    consume(Recorder(account, "edgehosts", project, NoClient()), EDGEHOSTS, items, project_for=lambda v: project.pk)
    messages = {
        item["metadata"]["uid"]: ((item.get("status") or {}).get("health") or {}).get("message")
        for item in items
        if isinstance(((item.get("status") or {}).get("health") or {}).get("message"), str)
    }
    long_ones = {uid: m for uid, m in messages.items() if len(m) > 500}
    assert long_ones  # the generator made some, and they are stored as they came
    for uid, message in long_ones.items():
        assert EdgeHost.objects.get(uid=uid).health_message == message


@pytest.mark.parametrize(
    ("definition", "kind", "mapper"),
    [("v1Audit", "audit", mappers.audit_entry), ("v1Event", "event", mappers.event_entry)],
)
def test_timeline_items_are_stored_or_reported_never_lost_silently(account, definition, kind, mapper) -> None:
    items = list(objects(definition, COUNT))
    run = record(Recorder(account, f"{kind}s", None, NoClient()), kind, [items], mapper, lambda v: None)
    stored = TimelineEntry.objects.filter(kind=kind).count()
    undated = [i for i in items if mappers.timestamp(i["metadata"].get("creationTimestamp")) is None]
    assert stored == COUNT - len(undated)
    assert len([e for e in run.errors if "no creationTimestamp" in e]) == min(len(undated), 50)


def test_an_over_long_uid_is_refused_not_cut(account, project) -> None:
    long_uid = "u" * 65
    items = [{"metadata": {"uid": long_uid, "name": "a"}}, {"metadata": {"uid": long_uid[:64] + "v", "name": "b"}}]
    run = consume(Recorder(account, "clusters", project, NoClient()), CLUSTERS, items, project_for=lambda v: project.pk)
    assert not Cluster.objects.exists()  # never two uids cut into one
    assert len(run.errors) == 2
