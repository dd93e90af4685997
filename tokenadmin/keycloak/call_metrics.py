"""Counts and timings of every HTTP call the gateway makes to Keycloak, for /metrics.

prometheus_client keeps them in this process; with PROMETHEUS_MULTIPROC_DIR set (before this
module is imported: web processes and Celery workers alike) it writes them to files in that
folder, and /metrics adds up every process's files (tokenadmin/metrics/). The metrics are not
in prometheus_client's global registry: /metrics builds its own registry per scrape.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

# The words of Keycloak's admin API paths the gateway uses; any other segment is an id or a
# name and becomes "{id}", so the label set stays bounded.
_API_WORDS = frozenset(
    {
        "admin-events",
        "attack-detection",
        "client-session-stats",
        "clients",
        "consents",
        "groups",
        "logout",
        "logout-all",
        "members",
        "offline-sessions",
        "push-revocation",
        "roles",
        "sessions",
        "users",
    }
)

KEYCLOAK_CALLS = Counter(
    "tokenadmin_keycloak_calls",
    "HTTP calls to Keycloak, by method and endpoint kind and by status (error: no answer)",
    ["endpoint", "status"],
    registry=None,
)
KEYCLOAK_CALL_SECONDS = Histogram(
    "tokenadmin_keycloak_call_seconds",
    "How long HTTP calls to Keycloak took, answered or not",
    ["endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=None,
)
COLLECTORS = (KEYCLOAK_CALLS, KEYCLOAK_CALL_SECONDS)


def endpoint_kind(method: str, path: str) -> str:
    """'GET clients/{id}/offline-sessions' for GET admin/realms/x/clients/<uuid>/offline-sessions
    (the query and the realm dropped, ids folded)."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if "realms" in parts:
        parts = parts[parts.index("realms") + 2 :]  # after admin/realms/{realm}
    words = [p if p in _API_WORDS else "{id}" for p in parts]
    return f"{method} {'/'.join(words) or 'realm'}"


@contextmanager
def keycloak_call_observed(method: str, path: str) -> Iterator[Callable[[int], None]]:
    """Time one call; the caller reports the status it got (`answered(status)`); a call that
    raises before reporting counts as status "error"."""
    endpoint = endpoint_kind(method, path)
    status: list[str] = []
    start = time.perf_counter()
    try:
        yield lambda code: status.append(str(code))
    finally:
        KEYCLOAK_CALL_SECONDS.labels(endpoint).observe(time.perf_counter() - start)
        KEYCLOAK_CALLS.labels(endpoint, status[0] if status else "error").inc()
