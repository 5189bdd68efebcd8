"""The control endpoint under /__sim/: faults, clock, churn, rate limits and served-request counters.

Every call needs the header `X-Sim-Control-Key: <control key>`; without a configured control key
the whole /__sim/ tree answers 404 like any unknown path. Control calls are neither rate limited
nor counted in the stats. Bodies are JSON; every answer is JSON.
"""

import json
import secrets
from collections.abc import Callable, Sequence
from typing import Protocol

from werkzeug.wrappers import Request, Response

from palette_sim.fleet.churn import Churn
from palette_sim.fleet.clock import SimClock
from palette_sim.fleet.fleet import Fleet, iso
from palette_sim.harness.faults import Faults
from palette_sim.harness.ratelimit import RateLimiter
from palette_sim.harness.stats import Stats


class Sessions(Protocol):
    """Sessions a control call can end: the Palette API's tokens, or one Edge Host API's."""

    def revoke_all(self) -> None: ...


class Tokens(Sessions, Protocol):
    generation: int
    ttl: float


class Simulator(Protocol):
    """What the control endpoint reaches of the app it controls (`palette_sim.palette.app.SimApp`)."""

    fleet: Fleet
    clock: SimClock
    churn: Churn
    faults: Faults
    limiter: RateLimiter
    stats: Stats
    tokens: Tokens
    edge_apps: Sequence[Sessions]
    edge_info: dict
    email: str
    tenant_sees_all: bool
    control_key: str | None


HEADER = "X-Sim-Control-Key"


def reply(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body, indent=1), status=status, mimetype="application/json")


def problem(status: int, code: str, message: str) -> Response:
    return reply({"code": code, "message": message, "details": {}, "ref": ""}, status)


def read_json(request: Request) -> dict:
    raw = request.get_data()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def stats(app: Simulator, request: Request, body: dict) -> dict:
    out = app.stats.snapshot()
    out["faultsInjected"] = dict(app.faults.injected)
    out["tokenGeneration"] = app.tokens.generation
    out["clock"] = iso(app.clock.now())
    out["fleetVersion"] = app.fleet.version
    return out


def stats_reset(app: Simulator, request: Request, body: dict) -> dict:
    app.stats.reset()
    app.faults.injected.clear()
    return stats(app, request, body)


def faults(app: Simulator, request: Request, body: dict) -> dict:
    if request.method == "DELETE":
        return app.faults.clear()
    if request.method in ("PUT", "POST", "PATCH"):
        return app.faults.update(body)
    return app.faults.describe()


def revoke(app: Simulator, request: Request, body: dict) -> dict:
    app.tokens.revoke_all()
    for edge in app.edge_apps:
        edge.revoke_all()
    return {"revoked": True, "tokenGeneration": app.tokens.generation, "edgeServers": len(app.edge_apps)}


def clock(app: Simulator, request: Request, body: dict) -> dict:
    """`{"jump": s}` moves the served clock only; `{"advance": s}` lets simulated time pass (churn runs)."""
    if request.method == "POST":
        for key in ("jump", "advance"):
            if key in body and (isinstance(body[key], bool) or not isinstance(body[key], int | float)):
                raise ValueError(f"{key} must be a number of seconds")
        app.clock.jumped += float(body.get("jump", 0))
        if body.get("advance"):
            if body["advance"] < 0:
                raise ValueError("advance must be positive: time does not run backwards")
            app.clock.advanced += float(body["advance"])
            app.churn.catch_up()
    return {
        "now": iso(app.clock.now()),
        "anchor": iso(app.clock.anchor),
        "elapsed": round(app.clock.elapsed(), 3),
        "jumped": app.clock.jumped,
        "churnTicks": app.churn.ticks,
    }


def churn(app: Simulator, request: Request, body: dict) -> dict:
    if request.method in ("PUT", "POST"):
        rate = body.get("rate")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
            raise ValueError("rate must be a non-negative number of changes per second")
        app.churn.set_rate(float(rate))
    return {"rate": app.churn.rate, "ticks": app.churn.ticks, "changes": dict(app.churn.counts)}


def ratelimit(app: Simulator, request: Request, body: dict) -> dict:
    if request.method in ("PUT", "POST"):
        scale = body.get("scale", app.limiter.scale)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or scale < 0:
            raise ValueError("scale must be a non-negative number (0 turns limits off)")
        app.limiter.reset(float(scale))
    return {"scale": app.limiter.scale}


def ratelimit_reset(app: Simulator, request: Request, body: dict) -> dict:
    app.limiter.reset()
    return {"scale": app.limiter.scale, "refilled": True}


def fleet(app: Simulator, request: Request, body: dict) -> dict:
    f = app.fleet
    with f.lock:
        return {
            "seed": f.seed,
            "org": f.org,
            "tenantUid": f.tenant_uid,
            "login": {"emailId": app.email, "org": f.org},
            "projects": [{"uid": p.uid, "name": p.name} for p in f.projects],
            "counts": {
                "projects": len(f.projects),
                "clusters": len(f.clusters),
                "profiles": len(f.families),
                "profileVersions": len(f.versions),
                "edgeHosts": len(f.hosts),
                "audits": len(f.audits),
                "events": len(f.events),
            },
            "tenantSeesAll": app.tenant_sees_all,
            "tokenTtl": app.tokens.ttl,
            "edge": app.edge_info,
        }


def edge(app: Simulator, request: Request, body: dict) -> dict:
    """The Edge Host API's address and which hosts are slow or unreachable; POST {address, reach} changes one."""
    hosts = app.fleet.hosts_by_ip
    if request.method == "POST":
        host = hosts.get(str(body.get("address", "")))
        if host is None:
            raise ValueError("address must be the hostAddress of an edge host")
        if body.get("reach") not in ("ok", "slow", "down"):
            raise ValueError("reach must be ok, slow or down")
        host.reach = body["reach"]
    with app.fleet.lock:
        slow = sorted((h.ip for h in hosts.values() if h.reach == "slow"), key=lambda a: tuple(map(int, a.split("."))))
        down = sorted((h.ip for h in hosts.values() if h.reach == "down"), key=lambda a: tuple(map(int, a.split("."))))
    return {**app.edge_info, "slow": slow, "down": down}


ROUTES: dict[str, tuple[tuple[str, ...], Callable]] = {
    "/__sim/stats": (("GET",), stats),
    "/__sim/stats/reset": (("POST",), stats_reset),
    "/__sim/faults": (("GET", "PUT", "POST", "PATCH", "DELETE"), faults),
    "/__sim/tokens/revoke": (("POST",), revoke),
    "/__sim/clock": (("GET", "POST"), clock),
    "/__sim/churn": (("GET", "PUT", "POST"), churn),
    "/__sim/ratelimit": (("GET", "PUT", "POST"), ratelimit),
    "/__sim/ratelimit/reset": (("POST",), ratelimit_reset),
    "/__sim/fleet": (("GET",), fleet),
    "/__sim/edge": (("GET", "POST"), edge),
}


def dispatch(app: Simulator, request: Request) -> Response:
    if not app.control_key:
        return problem(404, "ResourceNotFound", f"{request.method} {request.path} not found")
    if not secrets.compare_digest(request.headers.get(HEADER, ""), app.control_key):
        return problem(401, "Unauthorized", f"the control endpoint needs the {HEADER} header")
    route = ROUTES.get(request.path.rstrip("/"))
    if route is None:
        return problem(404, "ResourceNotFound", f"no control endpoint {request.path}; try {', '.join(ROUTES)}")
    methods, handler = route
    if request.method not in methods:
        response = problem(405, "MethodNotAllowed", f"{request.method} not allowed on {request.path}")
        response.headers["Allow"] = ", ".join(methods)
        return response
    try:
        return reply(handler(app, request, read_json(request)))
    except ValueError as exc:
        return problem(400, "BadRequest", str(exc))
