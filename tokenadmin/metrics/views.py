"""GET /metrics: Prometheus' text format, off unless METRICS_ENABLED, for a bearer token
(METRICS_TOKEN) or an allowed address (METRICS_ALLOW_IPS).

Each scrape builds its own registry: the database gauges (collector.py) and the Keycloak call
counters. With PROMETHEUS_MULTIPROC_DIR set, those counters are the sum of every process's
files (web processes and Celery workers write there); without it, only this process's calls.
"""

import hmac
import ipaddress
import os

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from tokenadmin.keycloak.call_metrics import COLLECTORS as KEYCLOAK_COLLECTORS

from .collector import IndexCollector


def metrics_access(*, authorization: str, address: str) -> int:
    """200 when the caller may read the metrics, 401 (no or wrong token) or 403 (an address
    not allowed, no token configured) when not."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _sep, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return 200
    if _address_allowed(address):
        return 200
    return 401 if token else 403


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOW_IPS)


def metrics_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IndexCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for collector in KEYCLOAK_COLLECTORS:
            registry.register(collector)
    return registry


@login_not_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_ENABLED:
        raise Http404("metrics are off")
    status = metrics_access(
        authorization=request.headers.get("Authorization", ""),
        address=request.META.get("REMOTE_ADDR", ""),
    )
    if status != 200:
        response = HttpResponse("not allowed\n", status=status, content_type="text/plain")
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
