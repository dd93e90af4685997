"""Remember a Keycloak that does not answer, for a short while (a circuit breaker).

A hung Keycloak costs every call its whole timeout. Once renewing an admin's login found
Keycloak unreachable, tokenadmin stops asking it for KEYCLOAK_BREAKER_OPEN_S: pages that read
the local index answer at once (with a banner saying so), calls that need Keycloak fail at once
with a message. When that time is up, one request tries again (a probe); an answer closes the
breaker, another failure opens it again. The state lives in Django's cache, keyed by Keycloak's
base URL: with the default local-memory cache that is per web process.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Outage:
    """Keycloak has not answered since `since_s`; nobody asks it again before `retry_at_s`."""

    since_s: float
    retry_at_s: float
    what: str

    @property
    def is_open(self) -> bool:
        return time.time() < self.retry_at_s

    @property
    def since(self) -> datetime:
        return datetime.fromtimestamp(self.since_s, tz=UTC)

    @property
    def retry_at(self) -> datetime:
        return datetime.fromtimestamp(self.retry_at_s, tz=UTC)


def _key() -> str:
    return f"keycloak-breaker:{settings.KEYCLOAK_URL}"


def keycloak_outage_get() -> Outage | None:
    """The outage on record (open, or waiting for its probe), or None when Keycloak answers."""
    found = cache.get(_key())
    return Outage(**found) if isinstance(found, dict) else None


def keycloak_outage_record(*, what: str) -> Outage:
    """Keycloak failed to answer: open the breaker (an ongoing outage keeps its start)."""
    now = time.time()
    previous = keycloak_outage_get()
    outage = Outage(
        since_s=previous.since_s if previous else now,
        retry_at_s=now + settings.KEYCLOAK_BREAKER_OPEN_S,
        what=what,
    )
    # Kept a day at most: a cache that outlives an outage forgets it by itself.
    cache.set(_key(), outage.__dict__, timeout=86400)
    return outage


def keycloak_outage_clear() -> None:
    """Keycloak answered: close the breaker."""
    cache.delete(_key())


def keycloak_probe_claim() -> bool:
    """The breaker's time is up: True for the one caller that may try Keycloak again now."""
    return cache.add(f"{_key()}:probe", 1, timeout=settings.KEYCLOAK_RENEW_TIMEOUT_S + 2)
