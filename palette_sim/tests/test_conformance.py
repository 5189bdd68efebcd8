"""Conformance: every response of every endpoint validates against the published specs.

Run at several seeds and sizes (one with a churned fleet). Objects are closed (no field the
spec does not name), so a misspelt or invented field fails here, not in production.
"""

import httpx
import pytest

from palette_sim import SimApp, generate_fleet
from palette_sim.edge.app import READS, WRITES, EdgeApp
from palette_sim.palette import routes
from palette_sim.tests import spec
from palette_sim.tests.conftest import API_KEY, CONTROL_KEY, make_client

DOCS_ONLY = {("/v1/projects", "GET"), ("/v1/edgehosts", "GET")}  # deprecated: only in the docs spec
CASES = {
    "seed1-small": dict(seed=1, projects=2, clusters=60, edge_hosts=80, audits=400),
    "seed2-medium": dict(seed=2, projects=5, clusters=400, edge_hosts=700, audits=5000, profiles=40),
    "seed3-churned": dict(seed=3, projects=3, clusters=120, edge_hosts=150, audits=800),
}


def template(rule: str) -> str:
    return (
        rule.replace("<kind>/<uid>", "{objectKind}/{objectUid}").replace("<uid>", "{uid}").replace("<token>", "{token}")
    )


class Checker:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.covered: set[tuple[str, str]] = set()
        self.failures: list[str] = []

    def check(self, method: str, rule: str, url: str, status: int = 200, **kwargs: object) -> object:
        r = self.client.request(method, url, **kwargs)
        assert r.status_code == status, f"{method} {url}: {r.status_code} {r.text[:300]}"
        body = r.json()
        if status == 200:
            self.covered.add((rule, method))
            source = spec.PALETTE_DOCS if (rule, method) in DOCS_ONLY else spec.PALETTE
            v = spec.validator(source, template(rule), method)
        else:
            v = spec.definition(spec.PALETTE, "v1Error")
        self.failures += [f"{method} {url}: {p}" for p in spec.problems(v, body)]
        return body


def exercise(c: Checker, app: SimApp) -> None:
    fleet = app.fleet
    p = fleet.projects[0].uid
    scoped = {"headers": {"ProjectUid": p}}
    login = {"emailId": app.email, "org": fleet.org, "password": API_KEY}
    token = c.check("POST", "/v1/auth/authenticate", "/v1/auth/authenticate", json=login)["Authorization"]
    c.check("GET", "/v1/auth/refresh/<token>", f"/v1/auth/refresh/{token}")
    c.check("GET", "/v1/users/info", "/v1/users/info")
    c.check("GET", "/v1/users", "/v1/users")
    c.check(
        "POST", "/v1/dashboard/projects", "/v1/dashboard/projects", json={"filter": {}, "sort": [{"field": "name"}]}
    )
    c.check("GET", "/v1/dashboard/projects/metadata", "/v1/dashboard/projects/metadata")
    c.check("GET", "/v1/projects", "/v1/projects")
    c.check("GET", "/v1/projects/<uid>", f"/v1/projects/{p}")

    search = "/v1/dashboard/spectroclusters/search"
    sort = {"filter": {}, "sort": [{"field": "lastModifiedTimestamp", "order": "desc"}]}
    first = c.check("POST", search, search, json=sort, **scoped)
    if first["listmeta"]["continue"]:
        c.check("POST", search, search, json=sort, params={"continue": first["listmeta"]["continue"]}, **scoped)
    meta_search = "/v1/dashboard/spectroclusters/metadata/search"
    c.check("POST", meta_search, meta_search, json={}, **scoped)
    for rule in ("search/schema", "search/input", "meta", "metadata"):
        c.check("GET", f"/v1/dashboard/spectroclusters/{rule}", f"/v1/dashboard/spectroclusters/{rule}", **scoped)
    body = {"filter": {"environment": "edge-native"}, "sort": "name"}
    c.check(
        "POST", "/v1/dashboard/spectroclusters/metadata", "/v1/dashboard/spectroclusters/metadata", json=body, **scoped
    )
    for cluster in fleet.clusters_by_project[p][:12]:
        u = cluster.uid
        c.check("GET", "/v1/dashboard/spectroclusters/<uid>", f"/v1/dashboard/spectroclusters/{u}", **scoped)
        c.check(
            "GET",
            "/v1/dashboard/spectroclusters/<uid>/overview",
            f"/v1/dashboard/spectroclusters/{u}/overview",
            **scoped,
        )
        c.check("GET", "/v1/spectroclusters/<uid>", f"/v1/spectroclusters/{u}", **scoped)
        c.check("GET", "/v1/spectroclusters/<uid>/status", f"/v1/spectroclusters/{u}/status", **scoped)
        c.check("GET", "/v1/spectroclusters/<uid>/profiles", f"/v1/spectroclusters/{u}/profiles", **scoped)
        edge_rule = "/v1/spectroclusters/<uid>/edge-native/edgeHosts"
        c.check("GET", edge_rule, f"/v1/spectroclusters/{u}/edge-native/edgeHosts", **scoped)
        c.check("GET", "/v1/events/components/<kind>/<uid>", f"/v1/events/components/spectrocluster/{u}", **scoped)

    profiles = c.check(
        "POST", "/v1/dashboard/clusterprofiles", "/v1/dashboard/clusterprofiles", json={"filter": {}}, **scoped
    )
    c.check("GET", "/v1/dashboard/clusterprofiles/metadata", "/v1/dashboard/clusterprofiles/metadata", **scoped)
    for item in profiles["items"][:10]:
        u = item["metadata"]["uid"]
        c.check("GET", "/v1/dashboard/clusterprofiles/<uid>", f"/v1/dashboard/clusterprofiles/{u}", **scoped)
        c.check("GET", "/v1/clusterprofiles/<uid>", f"/v1/clusterprofiles/{u}", **scoped)
        c.check("GET", "/v1/clusterprofiles/<uid>/packs", f"/v1/clusterprofiles/{u}/packs", **scoped)

    hosts = "/v1/dashboard/edgehosts/search"
    first = c.check("POST", hosts, hosts, json={}, **scoped)
    if first["listmeta"]["continue"]:
        c.check("POST", hosts, hosts, json={}, params={"continue": first["listmeta"]["continue"]}, **scoped)
    c.check("GET", "/v1/dashboard/edgehosts/search/schema", "/v1/dashboard/edgehosts/search/schema", **scoped)
    c.check("GET", "/v1/edgehosts/metadata", "/v1/edgehosts/metadata", **scoped)
    c.check("POST", "/v1/dashboard/appliances/metadata", "/v1/dashboard/appliances/metadata", json={}, **scoped)
    c.check("GET", "/v1/edgehosts", "/v1/edgehosts", **scoped)
    for host in fleet.hosts_by_project[p][:12]:
        c.check("GET", "/v1/edgehosts/<uid>", f"/v1/edgehosts/{host.uid}", **scoped)
        c.check("GET", "/v1/edgehosts/<uid>/profiles", f"/v1/edgehosts/{host.uid}/profiles", **scoped)
        c.check("GET", "/v1/events/components/<kind>/<uid>", f"/v1/events/components/edgehost/{host.uid}", **scoped)

    for params in ({}, {"actionType": "update"}):
        audits = c.check("GET", "/v1/audits", "/v1/audits", params=params)
    audits = c.check("GET", "/v1/audits", "/v1/audits", **scoped)
    for item in audits["items"][:5]:
        c.check("GET", "/v1/audits/<uid>", f"/v1/audits/{item['metadata']['uid']}")
        c.check("GET", "/v1/audits/<uid>/sysMsg", f"/v1/audits/{item['metadata']['uid']}/sysMsg")
    c.check("GET", "/v1/events/components", "/v1/events/components", **scoped)

    c.check("GET", "", "/v1/nope", status=404)
    c.check("GET", "", "/v1/dashboard/projects", status=405)
    c.check("POST", "", search, status=400, params={"continue": "x"}, json={}, **scoped)
    c.check("GET", "", "/v1/spectroclusters/000000000000000000000000", status=404, **scoped)


@pytest.fixture(scope="module", params=list(CASES))
def sim(request: pytest.FixtureRequest) -> SimApp:
    app = SimApp(generate_fleet(**CASES[request.param]), API_KEY, control_key=CONTROL_KEY, rate_scale=0, churn=1.5)
    if request.param.endswith("churned"):
        with make_client(app) as c:
            c.post("/__sim/clock", json={"advance": 900}, headers={"X-Sim-Control-Key": CONTROL_KEY})
    return app


def test_it_conforms_to_the_palette_spec_on_every_route(sim: SimApp) -> None:
    with make_client(sim) as client:
        checker = Checker(client)
        exercise(checker, sim)
    assert not checker.failures, "\n".join(checker.failures[:40])
    served = {(path, "+".join(methods).split("+")[0]) for path, methods, _h in routes.ROUTES}
    assert served - checker.covered == set(), "routes without a conformance check"


def test_it_answers_errors_as_v1_error(sim: SimApp) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=sim), base_url="http://sim") as bare:
        body = bare.get("/v1/users/info").json()
    assert not spec.problems(spec.definition(spec.PALETTE, "v1Error"), body)


def test_it_conforms_to_the_edge_spec_on_every_route(sim: SimApp) -> None:
    fleet = sim.fleet
    ok = [h for h in fleet.hosts.values() if h.reach == "ok"]  # slow hosts sleep; down ones only refuse sockets
    clustered = next(h for h in ok if h.cluster is not None)
    lonely = next((h for h in ok if h.cluster is None), clustered)
    failures, covered = [], set()
    for host in (clustered, lonely):
        transport = httpx.WSGITransport(app=EdgeApp(sim))
        with httpx.Client(transport=transport, base_url=f"http://{host.ip}:5080") as c:
            login = c.post("/v1/users/default/login", json={"username": "kairos", "password": API_KEY})
            tokens = login.json()["Token"]
            answers = {
                ("/v1/users/default/login", "post"): login,
                ("/v1/users/default/token/renewal", "post"): c.post(
                    "/v1/users/default/token/renewal", json={"refreshToken": tokens["RefreshToken"]}
                ),
            }
            headers = {"Authorization": tokens["Authorization"]}
            for path in READS:
                params = {"logCount": 5} if path.endswith("error-logs") else {}
                answers[(path, "get")] = c.get(path, headers=headers, params=params)
            answers[("/v1/users/default/logout", "post")] = c.post("/v1/users/default/logout", headers=headers)
        for (path, method), r in answers.items():
            status = str(r.status_code)
            declared = spec.document(spec.EDGE)["paths"][path][method]["responses"]
            schema = (declared.get(status) or declared.get("default") or {}).get("schema")
            if status == "404" and schema is None:
                continue
            assert status in declared or status == "404", f"{method} {path}: undeclared status {status}"
            if status == "200":
                covered.add(path)
            if schema:
                v = (
                    spec.validator(spec.EDGE, path, method, status)
                    if status in declared
                    else spec.definition(spec.EDGE, "v1Error")
                )
                failures += [f"{method} {path} ({host.ip}): {p}" for p in spec.problems(v, r.json())]
    assert not failures, "\n".join(failures[:40])
    assert set(READS) | set(WRITES) <= covered
