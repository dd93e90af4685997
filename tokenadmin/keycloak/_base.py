"""Plumbing every part of the gateway shares: raw calls with timeouts and mapped errors."""

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from keycloak import KeycloakOpenIDConnection
from keycloak.exceptions import (
    KeycloakDeleteError,
    KeycloakGetError,
    KeycloakPostError,
    KeycloakPutError,
    raise_error_from_response,
)

from .call_metrics import keycloak_call_observed
from .errors import LoginExpired, NotFound, mapped_errors


def _segment(part: str) -> str:
    # quote() leaves "." and "..", which the HTTP client resolves away: clients/.. would read
    # the list of clients as if it were one client. No Keycloak id or name is either.
    if part in ("", ".", ".."):
        raise NotFound(f"find {part!r}", "not a Keycloak id")
    return quote(part, safe="")


def realm_path(realm: str, *parts: str) -> str:
    """admin/realms/{realm}/{parts...}, each part URL-quoted."""
    return "/".join(["admin/realms", _segment(realm), *(_segment(p) for p in parts)])


def _json_body(data: Any) -> Any:
    # python-keycloak form-encodes a dict; Keycloak's admin API wants JSON.
    return json.dumps(data) if isinstance(data, dict | list) else data


class GatewayBase:
    """One Keycloak admin connection. Subclasses add one method per endpoint."""

    def __init__(self, connection: KeycloakOpenIDConnection) -> None:
        self._connection = connection

    @property
    def server_url(self) -> str:
        """Keycloak's base URL ("/auth/" at its end on old Keycloak)."""
        return str(self._connection.server_url)

    @property
    def timeout_s(self) -> float:
        return float(self._connection.timeout or 10)

    def bearer_token(self, *, renew: bool = False) -> str:
        """The access token this gateway sends, renewed first when expired or when `renew`
        (python-keycloak's own renewal: the refresh token, else its grant, client credentials).

        For callers that send requests themselves (SessionDeleter); not thread-safe on its own.
        """
        with mapped_errors("sign in to Keycloak again"):
            expires_at = self._connection.expires_at
            if renew or (expires_at is not None and datetime.now(tz=UTC) >= expires_at):
                self._connection.refresh_token()
            token = self._connection.token
            if not token:
                raise LoginExpired("sign in to Keycloak again")
            return str(token["access_token"])

    def _sent(self, method: str, path: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        """The one way a call leaves: counted and timed for /metrics (call_metrics.py)."""
        with keycloak_call_observed(method, path) as answered:
            response = call(*args, **kwargs)
            answered(response.status_code)
            return response

    def _get(self, path: str, what: str, **query: Any) -> Any:
        with mapped_errors(what):
            response = self._sent("GET", path, self._connection.raw_get, path, **query)
            return raise_error_from_response(response, KeycloakGetError, expected_codes=[200])

    def _post(
        self, path: str, what: str, data: Any = "", expected: tuple = (200, 201, 204), **query: Any
    ) -> Any:
        with mapped_errors(what):
            response = self._sent(
                "POST", path, self._connection.raw_post, path, data=_json_body(data), **query
            )
            return raise_error_from_response(
                response, KeycloakPostError, expected_codes=list(expected)
            )

    def _put(self, path: str, what: str, data: Any, **query: Any) -> Any:
        with mapped_errors(what):
            response = self._sent(
                "PUT", path, self._connection.raw_put, path, data=_json_body(data), **query
            )
            return raise_error_from_response(response, KeycloakPutError, expected_codes=[204])

    def _delete(self, path: str, what: str, **query: Any) -> Any:
        with mapped_errors(what):
            response = self._sent("DELETE", path, self._connection.raw_delete, path, **query)
            return raise_error_from_response(response, KeycloakDeleteError, expected_codes=[204])
