"""The client against the simulator, in-process and over a real socket."""

import httpx
import pytest

from conftest import SIM_KEY
from palette_sync.client import PaletteClient
from palette_sync.errors import PaletteAuthError


def list_everything(client: PaletteClient) -> tuple[list[dict], list[dict]]:
    projects = list(client.projects())
    clusters = [c for p in projects for c in client.clusters(p["metadata"]["uid"])]
    return projects, clusters


def test_it_lists_every_project_and_cluster_in_process(sim_transport: httpx.WSGITransport, sim_fleet) -> None:
    with PaletteClient("http://sim", SIM_KEY, transport=sim_transport) as client:
        projects, clusters = list_everything(client)
    live = [c.uid for c in sim_fleet.clusters.values() if c.state != "Deleted"]  # the search asks isDeleted=false
    assert sorted(p["metadata"]["uid"] for p in projects) == sorted(p.uid for p in sim_fleet.projects)
    assert sorted(c["metadata"]["uid"] for c in clusters) == sorted(live)
    # About 40 clusters a project: every project needs a second page of 50 at most.
    assert len(clusters) > 100


def test_it_scopes_clusters_to_the_project(sim_transport: httpx.WSGITransport) -> None:
    with PaletteClient("http://sim", SIM_KEY, transport=sim_transport) as client:
        project = next(iter(client.projects()))
        clusters = list(client.clusters(project["metadata"]["uid"]))
    assert clusters
    assert {c["specSummary"]["projectMeta"]["uid"] for c in clusters} == {project["metadata"]["uid"]}


def test_it_lists_over_a_real_socket(sim_server) -> None:
    with PaletteClient(sim_server.url, sim_server.api_key) as client:
        projects, clusters = list_everything(client)
    assert len(projects) == 3
    assert len({c["metadata"]["uid"] for c in clusters}) == len(clusters) > 100


def test_it_raises_a_typed_error_for_a_wrong_key(sim_transport: httpx.WSGITransport) -> None:
    with (
        PaletteClient("http://sim", "wrong-key", transport=sim_transport) as client,
        pytest.raises(PaletteAuthError) as excinfo,
    ):
        list(client.projects())
    assert excinfo.value.status == 401
