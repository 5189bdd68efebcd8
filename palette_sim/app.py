"""The simulator as a WSGI app: Palette's routes, auth, scoping and paging over a Fleet."""

import json
import secrets

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from palette_sim import paging
from palette_sim.fleet import Fleet


def error(status: int, code: str, message: str) -> Response:
    """A `v1Error` body (REFERENCE.md 5)."""
    body = {"code": code, "message": message, "details": {}, "ref": secrets.token_hex(8)}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def ok(body: object) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), mimetype="application/json")


class SimApp:
    """A WSGI callable serving one tenant's fleet."""

    def __init__(self, fleet: Fleet, api_key: str) -> None:
        self.fleet = fleet
        self.api_key = api_key
        self.secret = secrets.token_bytes(16)
        self.url_map = Map(
            [
                Rule("/v1/users/info", methods=["GET"], endpoint="users_info"),
                Rule("/v1/dashboard/projects", methods=["POST"], endpoint="projects_search"),
                Rule("/v1/dashboard/projects/metadata", methods=["GET"], endpoint="projects_metadata"),
                Rule("/v1/dashboard/spectroclusters/search", methods=["POST"], endpoint="clusters_search"),
            ]
        )

    def __call__(self, environ: dict, start_response: object) -> object:
        return self.dispatch(Request(environ))(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        try:
            endpoint, args = self.url_map.bind_to_environ(request.environ).match()
        except NotFound:
            return error(404, "ResourceNotFound", f"{request.method} {request.path} not found")
        except MethodNotAllowed:
            return error(405, "MethodNotAllowed", f"{request.method} not allowed on {request.path}")
        except HTTPException as exc:
            return error(exc.code or 400, "BadRequest", exc.description or "bad request")
        if not self.authorized(request):
            return error(401, "Unauthorized", "Missing or invalid credentials")
        try:
            return getattr(self, endpoint)(request, **args)
        except paging.BadToken as exc:
            return error(400, "InvalidContinueToken", str(exc))
        except BadRequest as exc:
            return error(400, "BadRequest", str(exc))

    def authorized(self, request: Request) -> bool:
        given = request.headers.get("ApiKey", "")
        return bool(given) and secrets.compare_digest(given, self.api_key)

    def scope(self, request: Request) -> str | None:
        """The project a request is scoped to: the ProjectUid header or query form (REFERENCE.md 3)."""
        return (
            request.headers.get("ProjectUid")
            or request.args.get("ProjectUid")
            or request.args.get("projectUid")
            or None
        )

    def listing(self, request: Request, items: list) -> Response:
        try:
            limit = int(request.args.get("limit", paging.MAX_LIMIT))
        except ValueError:
            raise BadRequest("limit must be an integer") from None
        limit = max(1, min(limit, paging.MAX_LIMIT))
        key = paging.listing_key(request.path, self.scope(request), request.get_data())
        token = request.args.get("continue", "")
        offset = paging.read_token(self.secret, key, token) if token else 0
        return ok(paging.page(items, offset, limit, self.secret, key))

    # --- endpoints -------------------------------------------------------------------------

    def users_info(self, request: Request) -> Response:
        return ok({"orgName": "simulated", "tenantUid": self.fleet.tenant_uid, "userUid": "0" * 24})

    def projects_search(self, request: Request) -> Response:
        json_body(request)
        return self.listing(request, self.fleet.projects)

    def projects_metadata(self, request: Request) -> Response:
        items = [
            {"metadata": {"name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}} for p in self.fleet.projects
        ]
        return ok({"items": items})

    def clusters_search(self, request: Request) -> Response:
        json_body(request)
        return self.listing(request, self.fleet.clusters_in(self.scope(request)))


class BadRequest(ValueError):
    pass


def json_body(request: Request) -> dict:
    raw = request.get_data()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest("request body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body
