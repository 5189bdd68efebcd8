"""Search bodies, sorts and the query filters of audits and events."""

import httpx
import pytest

from palette_sim import Fleet
from palette_sim.tests.conftest import collect

SEARCH = "/v1/dashboard/spectroclusters/search"


def one_filter(prop: str, kind: str, condition: dict) -> dict:
    item = {"property": prop, "type": kind, "condition": {kind: condition}}
    return {"filter": {"conjunction": "and", "filterGroups": [{"conjunction": "and", "filters": [item]}]}}


def string_match(operator: str, values: list[str], negation: bool = False, ignore_case: bool = False) -> dict:
    return {
        "operator": operator,
        "negation": negation,
        "ignoreCase": ignore_case,
        "match": {"conjunction": "or", "values": values},
    }


@pytest.fixture
def p(fleet: Fleet) -> str:
    return fleet.projects[0].uid


def test_it_filters_by_state_with_negation(client: httpx.Client, fleet: Fleet, p: str) -> None:
    running = collect(
        client, "POST", SEARCH, one_filter("clusterState", "string", string_match("eq", ["Running"])), ProjectUid=p
    )
    others = collect(
        client,
        "POST",
        SEARCH,
        one_filter("clusterState", "string", string_match("eq", ["Running"], True)),
        ProjectUid=p,
    )
    assert {i["status"]["state"] for i in running} == {"Running"}
    assert "Running" not in {i["status"]["state"] for i in others}
    assert len(running) + len(others) == len(fleet.clusters_by_project[p])


def test_it_matches_names_by_prefix_ignoring_case(client: httpx.Client, fleet: Fleet, p: str) -> None:
    name = fleet.clusters_by_project[p][0].name
    body = one_filter("clusterName", "string", string_match("beginsWith", [name[:5].upper()], ignore_case=True))
    items = collect(client, "POST", SEARCH, body, ProjectUid=p)
    assert items and all(i["metadata"]["name"].startswith(name[:5]) for i in items)


def test_it_matches_tags_as_key_value(client: httpx.Client, p: str) -> None:
    body = one_filter(
        "tags", "keyValue", {"key": "env", "operator": "eq", "match": {"conjunction": "or", "values": ["prod"]}}
    )
    items = collect(client, "POST", SEARCH, body, ProjectUid=p)
    assert items and all(i["metadata"]["labels"]["env"] == "prod" for i in items)


def test_it_sorts_descending_and_refuses_unknown_fields(client: httpx.Client, p: str) -> None:
    body = {"filter": {}, "sort": [{"field": "clusterName", "order": "desc"}]}
    names = [i["metadata"]["name"] for i in collect(client, "POST", SEARCH, body, ProjectUid=p)]
    assert names == sorted(names, reverse=True)
    r = client.post(SEARCH, json={"sort": [{"field": "memoryUsage"}]}, headers={"ProjectUid": p})
    assert r.status_code == 400
    r = client.post(
        SEARCH, json=one_filter("noSuchProperty", "string", string_match("eq", ["x"])), headers={"ProjectUid": p}
    )
    assert r.status_code == 400


def test_it_filters_edge_hosts_by_state(client: httpx.Client, p: str) -> None:
    body = one_filter("state", "string", string_match("eq", ["in-use"]))
    items = collect(client, "POST", "/v1/dashboard/edgehosts/search", body, ProjectUid=p)
    assert items and all(i["status"]["state"] == "in-use" and i["status"]["inUseClustersRef"] for i in items)


def test_it_filters_profiles_by_type_and_scope(client: httpx.Client, p: str) -> None:
    body = {"filter": {"profileType": ["add-on"], "scope": "project"}}
    items = collect(client, "POST", "/v1/dashboard/clusterprofiles", body, ProjectUid=p)
    assert items and all(i["specSummary"]["published"]["type"] == "add-on" for i in items)
    assert all(i["metadata"]["annotations"]["projectUid"] == p for i in items)


def test_it_filters_audits_by_action_user_and_resource(client: httpx.Client, fleet: Fleet) -> None:
    deletes = client.get("/v1/audits", params={"actionType": "delete"}).json()["items"]
    assert deletes and {i["spec"]["actionType"] for i in deletes} == {"delete"}
    user = fleet.people[1].uid
    mine = client.get("/v1/audits", params={"userUid": user}).json()["items"]
    assert mine and {i["spec"]["actor"]["user"]["uid"] for i in mine} == {user}
    target = deletes[0]["spec"]["resource"]
    about = client.get("/v1/audits", params={"resourceUid": target["uid"], "resourceKind": target["kind"]}).json()[
        "items"
    ]
    assert about and {i["spec"]["resource"]["uid"] for i in about} == {target["uid"]}
    assert client.get("/v1/audits", params={"actionType": "explode"}).status_code == 400
    assert client.get("/v1/audits", params={"startTime": "yesterday"}).status_code == 400


def test_it_projects_filters_and_orders_events(client: httpx.Client, p: str) -> None:
    params = {
        "filters": "relatedObject.kind=edgehost",
        "fields": "metadata.uid,relatedObject.kind",
        "orderBy": "metadata.creationTimestamp=1",
    }
    items = client.get("/v1/events/components", params=params, headers={"ProjectUid": p}).json()["items"]
    assert items and all(
        set(i) == {"metadata", "relatedObject"} and i["relatedObject"] == {"kind": "edgehost"} for i in items
    )
    full = collect(
        client, "GET", "/v1/events/components", None, {"orderBy": "metadata.creationTimestamp=1"}, ProjectUid=p
    )
    stamps = [i["metadata"]["creationTimestamp"] for i in full]
    assert stamps == sorted(stamps)
    bad = client.get("/v1/events/components", params={"filters": "spec.cloudType=aws"}, headers={"ProjectUid": p})
    assert bad.status_code == 400
