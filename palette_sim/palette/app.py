"""The simulator as a WSGI app: rate limits, faults, auth, scoping and paging in front of the routes.

`SimApp(fleet, api_key)` is the whole Palette REST API over one generated fleet. Use it over a
socket (`python -m palette_sim`) or in-process through `httpx.WSGITransport(app=SimApp(...))`;
the per-IP rate limit reads REMOTE_ADDR either way.
"""

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from palette_sim.fleet.churn import Churn
from palette_sim.fleet.clock import SimClock
from palette_sim.fleet.fleet import Fleet
from palette_sim.harness import control
from palette_sim.harness.faults import FaultConfig, Faults
from palette_sim.harness.ratelimit import RateLimiter, family_of
from palette_sim.harness.stats import Stats
from palette_sim.palette import paging, routes
from palette_sim.palette.context import Context
from palette_sim.palette.errors import BadRequest, ResourceNotFound, Unauthorized, error, ok
from palette_sim.palette.omitempty import PALETTE_KEEP, prune
from palette_sim.palette.tokens import TokenIssuer


class SimApp:
    """A WSGI callable serving one tenant's fleet like Palette's REST API."""

    def __init__(
        self,
        fleet: Fleet,
        api_key: str,
        *,
        control_key: str | None = None,
        token_ttl: float = 900.0,
        rate_scale: float = 1.0,
        tenant_sees_all: bool = False,
        email: str | None = None,
        password: str | None = None,
        churn: float = 0.0,
        faults: FaultConfig | None = None,
        edge_info: dict | None = None,
    ) -> None:
        self.fleet = fleet
        self.api_key = api_key
        self.control_key = control_key
        self.tenant_sees_all = tenant_sees_all
        self.email = email or (fleet.people[0].email if fleet.people else "admin@example.com")
        self.password = password if password is not None else api_key
        self.secret = secrets.token_bytes(16)
        self.clock = SimClock(fleet.anchor)
        self.limiter = RateLimiter(rate_scale)
        self.faults = Faults(faults, seed=fleet.seed)
        self.tokens = TokenIssuer(token_ttl)
        self.stats = Stats()
        self.churn = Churn(fleet, churn, self.clock)
        self.edge_info = edge_info or {}
        self.edge_apps: list = []  # EdgeApps serving this fleet (palette_sim.edge.server)
        self.url_map = routes.url_map()
        self._cache: OrderedDict[tuple, list] = OrderedDict()
        self._cache_lock = threading.Lock()
        fleet.version_users()  # warm: the first profile page should not pay for it

    def __call__(self, environ: dict, start_response: Callable) -> object:
        request = Request(environ)
        if request.path.startswith("/__sim/"):
            return control.dispatch(self, request)(environ, start_response)
        return self.serve(request)(environ, start_response)

    # --- the pipeline -------------------------------------------------------------------------

    def serve(self, request: Request) -> Response:
        path = request.path
        family = family_of(path)
        self.stats.request(family.prefix)
        if not self.limiter.allow(request.remote_addr or "?", family):
            self.stats.throttled(family.prefix)
            return self.finish(error(429, "TooManyRequests", f"Too Many Requests, [{request.method}] {path}"))
        faulty = self.faults.applies(path)
        if faulty:
            pre = self.pre_faults(request, family.prefix)
            if pre is not None:
                return self.finish(pre)
        self.churn.catch_up()
        response = self.dispatch(request)
        if faulty and response.status_code == 200:
            response = self.post_faults(response)
        return self.finish(response)

    def finish(self, response: Response) -> Response:
        self.stats.status(response.status_code)
        return response

    def pre_faults(self, request: Request, prefix: str) -> Response | None:
        delay = self.faults.delay()
        if delay:
            time.sleep(delay)
        if self.faults.storming() or self.faults.roll("throttle_rate"):
            self.stats.throttled(prefix)
            return error(429, "TooManyRequests", f"Too Many Requests, [{request.method}] {request.path}")
        if self.faults.roll("hang_rate"):
            time.sleep(self.faults.config.hang_seconds)
        if self.faults.roll("error_rate"):
            status = self.faults.choice((500, 502, 503, 504))
            return error(status, "InternalError", "simulated server error")
        return None

    def post_faults(self, response: Response) -> Response:
        if self.faults.roll("malformed_rate"):
            response.set_data(b"<html><body>upstream error</body></html>" + response.get_data()[:40])
        elif self.faults.roll("truncated_rate"):
            data = response.get_data()
            response.set_data(data[: max(1, len(data) // 2)])
        return response

    def dispatch(self, request: Request) -> Response:
        try:
            rule, args = self.url_map.bind_to_environ(request.environ).match(return_rule=True)
        except MethodNotAllowed as exc:
            response = error(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.path}")
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods or []))
            return response
        except NotFound:
            return error(404, "ResourceNotFound", f"{request.method} {request.path} not found")
        self.stats.endpoint(f"{request.method} {rule.rule}")
        handler = routes.HANDLERS[rule.endpoint]
        try:
            if rule.endpoint not in routes.PUBLIC:
                self.authenticate(request)
            ctx = Context(self, request)
            result = handler(ctx, **args)
        except Unauthorized as exc:
            return error(401, "Unauthorized", str(exc) or "Missing or invalid credentials")
        except ResourceNotFound as exc:
            return error(404, "ResourceNotFound", str(exc))
        except paging.BadToken as exc:
            return error(400, "InvalidContinueToken", str(exc))
        except BadRequest as exc:
            return error(400, "BadRequest", str(exc))
        return result if isinstance(result, Response) else ok(prune(result, PALETTE_KEEP))

    def authenticate(self, request: Request) -> None:
        """`ApiKey` header, or a raw session token in `Authorization` (no `Bearer ` prefix; REFERENCE.md 2)."""
        given = request.headers.get("ApiKey", "")
        if given:
            if secrets.compare_digest(given, self.api_key):
                return
            raise Unauthorized("Invalid API key")
        token = request.headers.get("Authorization", "")
        if token and self.tokens.verify(token, self.clock.now()) is not None:
            return
        raise Unauthorized("Missing or invalid credentials" if not token else "Token is invalid or expired")

    def cached(self, key: tuple, build: Callable[[], list]) -> list:
        """A filtered, sorted listing, kept until the fleet changes so later pages are cheap."""
        key = (*key, self.fleet.version)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        with self.fleet.lock:
            value = build()
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > 256:
                self._cache.popitem(last=False)
        return value
