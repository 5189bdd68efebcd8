"""The Edge Host API ("Local Management APIs") of every simulated edge host, as one WSGI app.

The host is the address the client connected to: the server puts it in the environ as
`palette_sim.local_addr`; in-process (httpx.WSGITransport) the URL's host stands in for it.
Login is with the host's OS user; tokens are per host and last 2 h, or 24 h with
extendedSession=true (REFERENCE.md 13).
"""

import json
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from palette_sim.edge import extras, shapes
from palette_sim.fleet.fleet import parse_time
from palette_sim.fleet.records import EdgeHost
from palette_sim.palette import errors
from palette_sim.palette.errors import error
from palette_sim.palette.omitempty import EDGE_KEEP, prune
from palette_sim.palette.tokens import TokenIssuer

if TYPE_CHECKING:
    from palette_sim.palette.app import SimApp

SHORT, EXTENDED = 2 * 3600.0, 24 * 3600.0
SLOW_SECONDS = 2.0  # added to every answer of a host whose seed made it slow


def ok(body: object) -> Response:
    """A 200 JSON answer, pruned the way the host's Go server would (palette_sim.palette.omitempty)."""
    return errors.ok(prune(body, EDGE_KEEP))


class EdgeApp:
    """Serves whichever edge host the request was addressed to."""

    def __init__(
        self, sim: "SimApp", user: str = "kairos", password: str | None = None, slow_seconds: float = SLOW_SECONDS
    ) -> None:
        self.sim = sim
        self.user = user
        self.password = password if password is not None else sim.api_key
        self.slow_seconds = slow_seconds
        self.access = TokenIssuer(SHORT)
        self.refresh = TokenIssuer(EXTENDED)
        self.ended: set[str] = set()  # sessions logged out
        rules = [Rule(path, methods=["GET"], endpoint=name) for path, name in READS.items()]
        rules += [Rule(path, methods=["POST"], endpoint=name) for path, name in WRITES.items()]
        self.url_map = Map(rules, strict_slashes=False)

    def host_for(self, environ: dict) -> EdgeHost | None:
        address = environ.get("palette_sim.local_addr") or environ.get("SERVER_NAME", "")
        with self.sim.fleet.lock:
            return self.sim.fleet.hosts_by_ip.get(address)

    def __call__(self, environ: dict, start_response: Callable) -> object:
        request = Request(environ)
        host = self.host_for(environ)
        if host is None:
            response = error(404, "EdgeHostNotFound", "no edge host answers at this address")
        else:
            self.sim.stats.edge_request(host.ip)
            if host.reach == "slow":
                time.sleep(self.slow_seconds)
            response = self.dispatch(request, host)
        return response(environ, start_response)

    def dispatch(self, request: Request, host: EdgeHost) -> Response:
        try:
            name, args = self.url_map.bind_to_environ(request.environ).match()
        except MethodNotAllowed:
            return error(405, "MethodNotAllowed", f"{request.method} not allowed on {request.path}")
        except NotFound:
            return error(404, "NotFound", f"{request.method} {request.path} not found")
        if name not in ("login", "renew") and not self.authorized(request, host):
            return error(401, "Unauthorized", "missing, invalid or expired token")
        with self.sim.fleet.lock:
            return getattr(self, name)(request, host, **args)

    def now(self) -> float:
        return self.sim.clock.now()

    def claims(self, request: Request, host: EdgeHost) -> dict | None:
        """The access token's claims when it is valid, for this host, and its session not logged out."""
        token = request.headers.get("Authorization", "")
        claims = self.access.verify(token, self.now()) if token else None
        if claims is None or claims.get("sub") != host.host_id or claims.get("sid") in self.ended:
            return None
        return claims

    def authorized(self, request: Request, host: EdgeHost) -> bool:
        return self.claims(request, host) is not None

    # --- auth ---------------------------------------------------------------------------------

    def tokens_for(self, host: EdgeHost, extended: bool, session: str | None = None) -> dict:
        session = session or secrets.token_hex(8)  # one session id for the access and refresh tokens
        access = self.access.issue(host.host_id, self.now(), session, ttl=EXTENDED if extended else SHORT)
        refresh = self.refresh.issue(host.host_id, self.now(), session)
        return {"Authorization": access, "RefreshToken": refresh}

    def with_cookies(self, request: Request, body: dict, tokens: dict) -> Response:
        response = ok(body)
        if request.args.get("setCookie", "true").lower() != "false":
            response.set_cookie("Authorization", tokens["Authorization"], httponly=True, secure=True)
            response.set_cookie("RefreshToken", tokens["RefreshToken"], httponly=True, secure=True)
        return response

    def login(self, request: Request, host: EdgeHost) -> Response:
        """`POST /v1/users/default/login` -> `v1LoginSuccess`."""
        try:
            body = json.loads(request.get_data() or b"{}")
            user, password = body["username"], body["password"]
        except (ValueError, KeyError, TypeError):
            return error(400, "BadRequest", "username and password are required")
        if not (secrets.compare_digest(str(user), self.user) and secrets.compare_digest(str(password), self.password)):
            return error(401, "Unauthorized", "invalid username or password")
        extended = request.args.get("extendedSession", "false").lower() == "true"
        tokens = self.tokens_for(host, extended)
        return self.with_cookies(request, {"IsFirstLogin": False, "Token": tokens}, tokens)

    def renew(self, request: Request, host: EdgeHost) -> Response:
        """`POST /v1/users/default/token/renewal`: body {refreshToken} or the RefreshToken cookie."""
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return error(400, "BadRequest", "body is not JSON")
        token = (body.get("refreshToken") if isinstance(body, dict) else None) or request.cookies.get(
            "RefreshToken", ""
        )
        claims = self.refresh.verify(token, self.now()) if token else None
        if claims is None or claims.get("sub") != host.host_id or claims.get("sid") in self.ended:
            return error(401, "Unauthorized", "invalid refresh token")
        extended = request.args.get("extendedSession", "false").lower() == "true"
        tokens = self.tokens_for(host, extended, claims["sid"])
        return self.with_cookies(request, tokens, tokens)

    def logout(self, request: Request, host: EdgeHost) -> Response:
        """`POST /v1/users/default/logout`: the session's access and refresh tokens stop working."""
        claims = self.claims(request, host)
        if claims is not None:
            self.ended.add(claims["sid"])
        return ok({})

    def revoke_all(self) -> None:
        self.access.revoke_all()
        self.refresh.revoke_all()

    # --- reads --------------------------------------------------------------------------------

    def need_cluster(self, host: EdgeHost) -> Response | None:
        return None if host.cluster is not None else error(404, "NotFound", "the edge host is not part of a cluster")

    def current_user(self, request: Request, host: EdgeHost) -> Response:
        return ok({"userName": self.user, "sshKeys": [], "disablePasswordUpdate": False})

    def ping(self, request: Request, host: EdgeHost) -> Response:
        return ok({"msg": "pong"})

    def host_info(self, request: Request, host: EdgeHost) -> Response:
        return ok(shapes.host_info(self.sim.fleet, host))

    def cluster_details(self, request: Request, host: EdgeHost) -> Response:
        return self.need_cluster(host) or ok(shapes.cluster_details(self.sim.fleet, host))

    def cluster_config(self, request: Request, host: EdgeHost) -> Response:
        return self.need_cluster(host) or ok(shapes.cluster_config(self.sim.fleet, host))

    def applications(self, request: Request, host: EdgeHost) -> Response:
        return self.need_cluster(host) or ok(shapes.applications(host))

    def nodes(self, request: Request, host: EdgeHost) -> Response:
        return ok(shapes.nodes(self.sim.fleet, host) if host.cluster else {"nodes": []})

    def machine_pools(self, request: Request, host: EdgeHost) -> Response:
        return ok({"items": shapes.machine_pools(self.sim.fleet, host) if host.cluster else []})

    def registry_content(self, request: Request, host: EdgeHost) -> Response:
        return ok(extras.registry_content(host))

    def registry_sync(self, request: Request, host: EdgeHost) -> Response:
        return ok(extras.registry_sync(host))

    def registry_health(self, request: Request, host: EdgeHost) -> Response:
        return ok(extras.registry_health(host))

    def certificates(self, request: Request, host: EdgeHost) -> Response:
        return self.need_cluster(host) or ok(extras.certificates(self.sim.fleet, host))

    def cluster_events(self, request: Request, host: EdgeHost) -> Response:
        """`GET /v1/edge-mgmt/cluster/events`; query `namespace` (every simulated event is in kube-system)."""
        if request.args.get("namespace", "kube-system") not in ("", "kube-system"):
            return ok({"items": []})
        return ok(extras.events(self.sim.fleet, host))

    def lifecycle(self, request: Request, host: EdgeHost) -> Response:
        return ok(extras.lifecycle(self.sim.fleet, host))

    def error_logs(self, request: Request, host: EdgeHost) -> Response:
        try:
            count = int(request.args["logCount"])
        except (KeyError, ValueError):
            return error(400, "BadRequest", "logCount is required")
        return ok(extras.events(self.sim.fleet, host, max(0, min(count, 100))))

    def audits(self, request: Request, host: EdgeHost) -> Response:
        """`GET /v1/edge-mgmt/edgehosts/current/audits` -> `v1AuditsList`, paged by offset."""
        args = request.args
        items = extras.audits(self.sim.fleet, host)
        try:
            start = parse_time(args["startTime"]) if args.get("startTime") else None
            end = parse_time(args["endTime"]) if args.get("endTime") else None
            limit = min(max(int(args.get("limit", 50)), 1), 50)
            offset = int(args.get("continue") or args.get("offset") or 0)
        except ValueError:
            return error(400, "BadRequest", "bad startTime, endTime, limit, offset or continue")
        if start is not None or end is not None:
            items = [
                i
                for i in items
                if (start is None or parse_time(i["metadata"]["createTimestamp"]) >= start)
                and (end is None or parse_time(i["metadata"]["createTimestamp"]) <= end)
            ]
        if args.get("actionType"):
            items = [i for i in items if i["spec"]["actionType"] == args["actionType"]]
        chunk = items[offset : offset + limit]
        nxt = offset + len(chunk)
        return ok(
            {
                "items": chunk,
                "listmeta": {"continue": str(nxt) if nxt < len(items) else "", "limit": limit, "offset": nxt},
            }
        )

    def configuration_status(self, request: Request, host: EdgeHost) -> Response:
        return ok(extras.configuration_status(host))

    def link_status(self, request: Request, host: EdgeHost) -> Response:
        return ok(extras.link_status(host))

    def pair_details(self, request: Request, host: EdgeHost) -> Response:
        return ok(extras.pair_details(self.sim.fleet, host))

    def settings(self, request: Request, host: EdgeHost) -> Response:
        return ok(extras.settings(host))

    def interfaces(self, request: Request, host: EdgeHost) -> Response:
        return ok(extras.interfaces(host))


READS = {
    "/v1/users/current": "current_user",
    "/v1/ping": "ping",
    "/v1/edge-mgmt/edgehosts/current": "host_info",
    "/v1/edge-mgmt/cluster/details": "cluster_details",
    "/v1/edge-mgmt/cluster": "cluster_config",
    "/v1/edge-mgmt/cluster/applications": "applications",
    "/v1/edge-mgmt/clusters/current/nodes": "nodes",
    "/v1/edge-mgmt/clusters/current/machinepools": "machine_pools",
    "/v1/edge-mgmt/cluster/registry/content/details": "registry_content",
    "/v1/edge-mgmt/cluster/registry/content/sync-status/details": "registry_sync",
    "/v1/edge-mgmt/cluster/registry/health": "registry_health",
    "/v1/edge-mgmt/cluster/certificates": "certificates",
    "/v1/edge-mgmt/cluster/events": "cluster_events",
    "/v1/edge-mgmt/events/lifecycle": "lifecycle",
    "/v1/edge-mgmt/edgehosts/current/audits": "audits",
    "/v1/edge-mgmt/edgehosts/current/error-logs": "error_logs",
    "/v1/edge-mgmt/edgehosts/current/configurations/status": "configuration_status",
    "/v1/edge-mgmt/edgehosts/current/link/status": "link_status",
    "/v1/edge-mgmt/cluster/pair/details": "pair_details",
    "/v1/edge-mgmt/settings": "settings",
    "/v1/edge-mgmt/network/interfaces": "interfaces",
}
WRITES = {
    "/v1/users/default/login": "login",
    "/v1/users/default/token/renewal": "renew",
    "/v1/users/default/logout": "logout",
}
