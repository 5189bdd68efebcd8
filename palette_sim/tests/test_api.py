"""Endpoints, paging and scoping of the simulated Palette REST API."""

import httpx

from palette_sim import Fleet, SimApp, generate_fleet
from palette_sim.tests.conftest import API_KEY, collect, make_client


def test_it_needs_an_api_key(app: SimApp) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://sim") as bare:
        r = bare.get("/v1/users/info")
    assert r.status_code == 401
    assert set(r.json()) == {"code", "message", "details", "ref"}


def test_it_answers_unknown_paths_with_a_v1_error(client: httpx.Client) -> None:
    r = client.get("/v1/no/such/thing")
    assert r.status_code == 404
    assert r.json()["code"] == "ResourceNotFound"


def test_it_answers_a_wrong_method_with_405(client: httpx.Client) -> None:
    r = client.get("/v1/dashboard/projects")
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]


def test_it_pages_clusters_of_a_project_to_the_end(client: httpx.Client, fleet: Fleet, project_uid: str) -> None:
    body = {"filter": {}, "sort": []}
    items = collect(client, "POST", "/v1/dashboard/spectroclusters/search", body, ProjectUid=project_uid)
    uids = [i["metadata"]["uid"] for i in items]
    assert len(uids) == len(set(uids)) == len(fleet.clusters_by_project[project_uid])
    assert all(i["specSummary"]["projectMeta"]["uid"] == project_uid for i in items)


def test_it_refuses_a_limit_over_50_and_reports_listmeta(client: httpx.Client, project_uid: str) -> None:
    scoped = {"ProjectUid": project_uid}
    r = client.post("/v1/dashboard/edgehosts/search", params={"limit": 51}, json={}, headers=scoped)
    assert r.status_code == 400
    r = client.post("/v1/dashboard/edgehosts/search", params={"limit": 20}, json={}, headers=scoped)
    meta = r.json()["listmeta"]
    assert len(r.json()["items"]) == meta["limit"] == 20
    assert meta["offset"] == 20 and meta["count"] > 20 and meta["continue"]


def test_it_accepts_the_same_body_serialised_differently(client: httpx.Client, project_uid: str) -> None:
    path, scoped = "/v1/dashboard/spectroclusters/search", {"ProjectUid": project_uid}
    token = client.post(path, content=b'{"filter": {}, "sort": []}', headers=scoped).json()["listmeta"]["continue"]
    r = client.post(path, params={"continue": token}, content=b'{"sort":[],"filter":{}}', headers=scoped)
    assert r.status_code == 200


def test_it_refuses_a_malformed_or_foreign_continue_token(client: httpx.Client, project_uid: str) -> None:
    path = "/v1/dashboard/spectroclusters/search"
    first = client.post(path, json={}, headers={"ProjectUid": project_uid}).json()
    token = first["listmeta"]["continue"]
    assert (
        client.post(path, params={"continue": "garbage!"}, json={}, headers={"ProjectUid": project_uid}).status_code
        == 400
    )
    other_body = {"filter": {}, "sort": [{"field": "clusterName", "order": "asc"}]}
    r = client.post(path, params={"continue": token}, json=other_body, headers={"ProjectUid": project_uid})
    assert r.status_code == 400
    r = client.post(
        "/v1/dashboard/edgehosts/search", params={"continue": token}, json={}, headers={"ProjectUid": project_uid}
    )
    assert r.status_code == 400


def test_it_scopes_listings_by_project_header_and_query(client: httpx.Client, fleet: Fleet) -> None:
    p = fleet.projects[1].uid
    by_header = collect(client, "POST", "/v1/dashboard/edgehosts/search", {}, ProjectUid=p)
    by_query = collect(client, "POST", "/v1/dashboard/edgehosts/search", {}, {"projectUid": p})
    assert {i["metadata"]["uid"] for i in by_header} == {i["metadata"]["uid"] for i in by_query}
    assert {i["spec"]["projectMeta"]["uid"] for i in by_header} == {p}


def test_it_returns_only_tenant_objects_in_tenant_scope(client: httpx.Client, fleet: Fleet) -> None:
    assert client.post("/v1/dashboard/spectroclusters/search", json={}).json()["items"] == []
    profiles = collect(client, "POST", "/v1/dashboard/clusterprofiles", {"filter": {}})
    assert profiles and all(p["metadata"]["annotations"]["scope"] == "tenant" for p in profiles)


def test_it_hides_other_projects_objects_from_detail_reads(client: httpx.Client, fleet: Fleet) -> None:
    cluster = fleet.clusters_by_project[fleet.projects[0].uid][0]
    assert (
        client.get(f"/v1/spectroclusters/{cluster.uid}", headers={"ProjectUid": fleet.projects[0].uid}).status_code
        == 200
    )
    assert (
        client.get(f"/v1/spectroclusters/{cluster.uid}", headers={"ProjectUid": fleet.projects[1].uid}).status_code
        == 404
    )


def test_it_filters_deleted_clusters_only_when_asked(client: httpx.Client, fleet: Fleet) -> None:
    p = fleet.projects[0].uid
    everything = collect(client, "POST", "/v1/dashboard/spectroclusters/search", {}, ProjectUid=p)
    live_body = {
        "filter": {
            "conjunction": "and",
            "filterGroups": [
                {
                    "conjunction": "and",
                    "filters": [{"property": "isDeleted", "type": "bool", "condition": {"bool": {"value": False}}}],
                }
            ],
        }
    }
    live = collect(client, "POST", "/v1/dashboard/spectroclusters/search", live_body, ProjectUid=p)
    assert any(i["status"]["state"] == "Deleted" for i in everything)
    assert all(i["status"]["state"] != "Deleted" for i in live)


def test_it_lists_profile_versions_with_the_clusters_using_them(client: httpx.Client, fleet: Fleet) -> None:
    p = fleet.projects[0].uid
    items = collect(client, "POST", "/v1/dashboard/clusterprofiles", {"filter": {}}, ProjectUid=p)
    used = [i for i in items if i["status"].get("inUseClusters")]
    assert used
    assert any(len(i["specSummary"]["versions"]) > 1 for i in items)
    lagging = [
        i
        for i in used
        if i["specSummary"]["version"]
        != next(v["version"] for v in i["specSummary"]["versions"] if v["uid"] == i["metadata"]["uid"])
    ]
    assert lagging, "some clusters should run an older version than their profile's latest"


def test_it_gives_edge_hosts_loopback_addresses(client: httpx.Client, fleet: Fleet) -> None:
    p = fleet.projects[0].uid
    items = collect(client, "POST", "/v1/dashboard/edgehosts/search", {}, ProjectUid=p)
    for item in items:
        address = item["spec"]["host"]["hostAddress"]
        assert address.startswith("127.") and address != "127.0.0.1"
        assert item["spec"]["device"]["nics"][0]["ip"] == address


def test_it_filters_audits_by_time_window_newest_first(client: httpx.Client, fleet: Fleet) -> None:
    r = client.get("/v1/audits", params={"startTime": "2025-12-30T00:00:00Z", "endTime": "2025-12-31T00:00:00Z"})
    items = r.json()["items"]
    stamps = [i["metadata"]["creationTimestamp"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    assert all("2025-12-30" <= s < "2025-12-31" for s in stamps)
    one = client.get(f"/v1/audits/{items[0]['metadata']['uid']}")
    assert one.json() == items[0]


def test_it_lists_events_of_one_cluster(client: httpx.Client, fleet: Fleet) -> None:
    cluster = next(c for c in fleet.clusters.values() if fleet.events.by_object.get(c.serial))
    r = client.get(f"/v1/events/components/spectrocluster/{cluster.uid}", headers={"ProjectUid": cluster.project.uid})
    assert r.status_code == 200
    assert {i["relatedObject"]["uid"] for i in r.json()["items"]} == {cluster.uid}


def test_it_issues_and_refreshes_session_tokens(app: SimApp) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://sim") as c:
        login = {"emailId": app.email, "org": app.fleet.org, "password": API_KEY}
        token = c.post("/v1/auth/authenticate", json=login).json()["Authorization"]
        assert c.get("/v1/users/info", headers={"Authorization": token}).status_code == 200
        assert c.get("/v1/users/info", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        fresh = c.get(f"/v1/auth/refresh/{token}").json()["Authorization"]
        assert fresh != token
        assert c.post("/v1/auth/authenticate", json={**login, "password": "wrong"}).status_code == 401


def test_it_generates_the_same_fleet_for_the_same_seed() -> None:
    a, b = (generate_fleet(seed=3, projects=2, clusters=40, edge_hosts=30, audits=100) for _ in range(2))
    with make_client(SimApp(a, API_KEY, rate_scale=0)) as ca, make_client(SimApp(b, API_KEY, rate_scale=0)) as cb:
        p = a.projects[0].uid
        assert collect(ca, "POST", "/v1/dashboard/spectroclusters/search", {}, ProjectUid=p) == collect(
            cb, "POST", "/v1/dashboard/spectroclusters/search", {}, ProjectUid=p
        )
