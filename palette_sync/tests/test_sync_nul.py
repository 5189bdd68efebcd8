"""A NUL character in what Palette sends (JSON's \\u0000) is stored as U+FFFD: PostgreSQL keeps no
NUL in text or jsonb, and one would otherwise fail the whole batch it came with."""

from collections.abc import Callable

import pytest

from dashboard.models import Cluster, PaletteAccount, Project
from palette_sim import Fleet
from palette_sync import sync

pytestmark = pytest.mark.django_db


def test_a_name_with_a_nul_is_stored_with_its_batch(
    account: PaletteAccount, sim_fleet: Fleet, sim_client: Callable
) -> None:
    project_uid = max(sim_fleet.clusters_by_project, key=lambda uid: len(sim_fleet.visible_clusters(uid)))
    odd = sim_fleet.visible_clusters(project_uid)[3]
    sync.sync_projects(account, sim_client(sim_fleet))
    project = Project.objects.get(uid=project_uid)

    odd.name = "edge\x00site"  # a new row
    run = sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    assert run.status == "ok", run.errors
    assert Cluster.objects.filter(project=project).count() == run.items > 50  # the batch is whole
    row = Cluster.objects.get(uid=odd.uid)
    assert row.name == row.raw["metadata"]["name"] == "edge\ufffdsite"

    odd.name = "edge\x00\x00shop"  # a stored row compared with the listed one, and updated
    sim_fleet.version += 1
    run = sync.sync_resource(account, sim_client(sim_fleet), "clusters", project)
    assert run.status == "ok", run.errors
    row.refresh_from_db()
    assert row.name == row.raw["metadata"]["name"] == "edge\ufffd\ufffdshop"
