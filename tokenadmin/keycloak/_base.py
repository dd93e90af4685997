"""Plumbing every part of the gateway shares: raw calls with timeouts and mapped errors."""

import json
from typing import Any
from urllib.parse import quote

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import (
    KeycloakDeleteError,
    KeycloakGetError,
    KeycloakPostError,
    KeycloakPutError,
    raise_error_from_response,
)

from .errors import NotFound, mapped_errors


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
        # python-keycloak's wrapped calls, for the endpoints it covers well.
        self._admin = KeycloakAdmin(connection=connection)

    def _get(self, path: str, what: str, **query: Any) -> Any:
        with mapped_errors(what):
            response = self._connection.raw_get(path, **query)
            return raise_error_from_response(response, KeycloakGetError, expected_codes=[200])

    def _post(
        self, path: str, what: str, data: Any = "", expected: tuple = (200, 201, 204), **query: Any
    ) -> Any:
        with mapped_errors(what):
            response = self._connection.raw_post(path, data=_json_body(data), **query)
            return raise_error_from_response(
                response, KeycloakPostError, expected_codes=list(expected)
            )

    def _put(self, path: str, what: str, data: Any, **query: Any) -> Any:
        with mapped_errors(what):
            response = self._connection.raw_put(path, data=_json_body(data), **query)
            return raise_error_from_response(response, KeycloakPutError, expected_codes=[204])

    def _delete(self, path: str, what: str, **query: Any) -> Any:
        with mapped_errors(what):
            response = self._connection.raw_delete(path, **query)
            return raise_error_from_response(response, KeycloakDeleteError, expected_codes=[204])
