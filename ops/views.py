"""/healthz, /readyz and /metrics: no login (monitoring has none), nothing secret in the answers."""

import hmac
import os

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from ops import checks
from ops.metrics import FleetCollector


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers requests. Touches nothing else: for a liveness probe."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Everything the dashboard needs works: database, Redis, a worker, beat, fresh data (ops.checks).
    200 when every check passes, else 503; the body says which failed and why."""
    results = checks.run_all()
    ready = all(result.ok for result in results.values())
    body = {"status": "ok" if ready else "fail", "checks": {name: r.as_json() for name, r in results.items()}}
    return JsonResponse(body, status=200 if ready else 503)


@login_not_required
@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for a bearer token equal to METRICS_TOKEN; 404 while METRICS_TOKEN is unset."""
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404("metrics are off: METRICS_TOKEN is not set")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        response = HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


def registry() -> CollectorRegistry:
    """A fresh registry per scrape: the fleet collector, and in multiprocess mode whatever the
    processes counted in PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    return registry
