"""The gateway: the only code that talks to Keycloak.

Interactive calls carry the logged-in admin's own access token, so Keycloak decides what the
admin may do and its admin events name the real person. Background jobs use the worker's
service account. Every call has a timeout and maps failures to GatewayError subclasses.
Each area of Keycloak's API has its own module with one method per endpoint; `Gateway`
gathers them.
"""

from typing import Any, NoReturn

from django.conf import settings
from keycloak import KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakConnectionError
from requests.exceptions import Timeout
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from .breaker import keycloak_outage_get, keycloak_outage_record
from .errors import mapped_errors
from .lifespans import LifespanCalls
from .realms import RealmCalls
from .revocation import RevocationCalls
from .sessions import SessionCalls
from .watch import WatchCalls


class Gateway(RealmCalls, SessionCalls, RevocationCalls, LifespanCalls, WatchCalls):
    """Every Keycloak call tokenadmin makes, acting as one admin or the worker."""


class _NotAsking(KeycloakOpenIDConnection):
    """A connection that does not call Keycloak: the circuit breaker says it is not answering,
    so every call fails at once as unreachable instead of waiting for its timeout."""

    def raw_get(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise KeycloakConnectionError("not asked: Keycloak has not been answering")

    raw_post = raw_put = raw_delete = raw_get


def _timed_out(exc: BaseException | None) -> bool:
    """A timeout somewhere in the chain (requests reports retried read timeouts as a
    ConnectionError around urllib3's MaxRetryError)."""
    for _ in range(8):
        if exc is None:
            return False
        if isinstance(exc, Timeout | Urllib3Timeout | TimeoutError):
            return True
        if isinstance(exc, MaxRetryError):
            exc = exc.reason
        elif exc.args and isinstance(exc.args[0], MaxRetryError):
            exc = exc.args[0]
        else:
            exc = exc.__cause__ or exc.__context__
    return False


class _Watched(KeycloakOpenIDConnection):
    """A connection that opens the circuit breaker when Keycloak lets a call time out, so the
    admin's next pages do not wait for it again (refusals and errors it answers do not)."""

    def _watched(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except KeycloakConnectionError as exc:
            if _timed_out(exc):
                keycloak_outage_record(what="answer an admin call in time")
            raise

    def raw_get(self, *args: Any, **kwargs: Any) -> Any:
        return self._watched(super().raw_get, *args, **kwargs)

    def raw_post(self, *args: Any, **kwargs: Any) -> Any:
        return self._watched(super().raw_post, *args, **kwargs)

    def raw_put(self, *args: Any, **kwargs: Any) -> Any:
        return self._watched(super().raw_put, *args, **kwargs)

    def raw_delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._watched(super().raw_delete, *args, **kwargs)


def gateway_for_token(access_token: str, expires_in_s: int) -> Gateway:
    """A gateway acting as the admin who holds `access_token` (no refresh: the web tier does).

    While the circuit breaker is open (keycloak/breaker.py) its calls fail at once.
    """
    outage = keycloak_outage_get()
    connection_class = _NotAsking if outage is not None and outage.is_open else _Watched
    connection = connection_class(
        server_url=settings.KEYCLOAK_URL,
        realm_name=settings.KEYCLOAK_REALM,
        user_realm_name=settings.KEYCLOAK_REALM,
        client_id=settings.KEYCLOAK_CLIENT_ID,
        # Only the access token: with no refresh token and no secret, python-keycloak cannot
        # quietly swap a dead admin login for the client's own service account.
        token={"access_token": access_token, "expires_in": max(expires_in_s, 1)},
        timeout=settings.KEYCLOAK_TIMEOUT_S,
    )
    return Gateway(connection)


def gateway_for_worker() -> Gateway:
    """A gateway acting as the worker's service account (client credentials), for jobs."""
    connection = KeycloakOpenIDConnection(
        server_url=settings.KEYCLOAK_URL,
        realm_name=settings.KEYCLOAK_REALM,
        user_realm_name=settings.KEYCLOAK_REALM,
        client_id=settings.KEYCLOAK_WORKER_CLIENT_ID,
        client_secret_key=settings.KEYCLOAK_WORKER_CLIENT_SECRET,
        grant_type="client_credentials",
        timeout=settings.KEYCLOAK_TIMEOUT_S,
    )
    with mapped_errors("sign in as the worker's service account"):
        connection.get_token()
    return Gateway(connection)
