"""Renewing the admin's access token without letting a hung Keycloak hold up the pages.

At most one renewal at a time per session (a second request of the same admin goes on with
the token it has), and none while the circuit breaker says Keycloak is not answering.
"""

import logging
from enum import StrEnum

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache

from tokenadmin.keycloak import KeycloakUnavailable
from tokenadmin.keycloak.breaker import (
    keycloak_outage_clear,
    keycloak_outage_get,
    keycloak_outage_record,
    keycloak_probe_claim,
)
from tokenadmin.keycloak.oidc import tokens_refresh

from .session_tokens import REFRESH, tokens_store

logger = logging.getLogger(__name__)


class Renewal(StrEnum):
    RENEWED = "renewed"
    BUSY = "busy"  # another request of this session is renewing it
    KEYCLOAK_DOWN = "keycloak_down"  # the breaker is open, or this try found Keycloak down


def admin_login_renew(*, session: SessionBase) -> Renewal:
    """Renew the session's tokens from Keycloak, once at a time.

    Raises Rejected or LoginExpired when Keycloak says the SSO session is over.
    """
    outage = keycloak_outage_get()
    if outage is not None and outage.is_open:
        return Renewal.KEYCLOAK_DOWN
    lock = f"keycloak-renewal:{session.session_key}"
    if not cache.add(lock, 1, timeout=settings.KEYCLOAK_RENEW_TIMEOUT_S + 2):
        return Renewal.BUSY
    try:
        if outage is not None and not keycloak_probe_claim():
            return Renewal.KEYCLOAK_DOWN  # another request is trying Keycloak again right now
        try:
            tokens = tokens_refresh(session[REFRESH])
        except KeycloakUnavailable as exc:
            opened = keycloak_outage_record(what=exc.what)
            logger.warning(
                "Keycloak did not answer a login renewal; not asking again before %s",
                opened.retry_at.isoformat(timespec="seconds"),
            )
            return Renewal.KEYCLOAK_DOWN
        if outage is not None:
            logger.info("Keycloak answers again")
            keycloak_outage_clear()
        tokens_store(session, tokens)
        return Renewal.RENEWED
    finally:
        cache.delete(lock)
