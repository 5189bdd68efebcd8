"""Fixtures: a small fleet and an in-process client of the simulator."""

import httpx
import pytest

from palette_sim import Fleet, SimApp, generate_fleet

API_KEY = "test-key"
CONTROL_KEY = "control-key"


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    return generate_fleet(seed=7, projects=3, clusters=180, edge_hosts=240, audits=3000)


def make_client(app: SimApp, **headers: str) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://sim", headers={"ApiKey": API_KEY, **headers}
    )


@pytest.fixture
def app(fleet: Fleet) -> SimApp:
    return SimApp(fleet, API_KEY, control_key=CONTROL_KEY, rate_scale=0)


@pytest.fixture
def client(app: SimApp) -> httpx.Client:
    with make_client(app) as c:
        yield c


@pytest.fixture
def project_uid(client: httpx.Client) -> str:
    return client.post("/v1/dashboard/projects", json={"filter": {}}).json()["items"][0]["metadata"]["uid"]


def collect(
    client: httpx.Client, method: str, path: str, body: dict | None = None, query: dict | None = None, **headers: str
) -> list[dict]:
    """Every item of a paged listing, following continue tokens."""
    items, token = [], ""
    for _ in range(10_000):
        params = {**(query or {}), **({"continue": token} if token else {})}
        r = client.request(method, path, params=params, json=body, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items.extend(page["items"])
        token = page["listmeta"]["continue"]
        if not token:
            return items
    raise AssertionError("listing never ended")
