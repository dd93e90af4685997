"""A tiny router and Keycloak-shaped responses, shared by the OIDC, admin and hook modules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.responses import Response

if TYPE_CHECKING:
    from starlette.requests import Request

    from tokenadmin.emulator.store import Store


class HttpError(Exception):
    """Raised by handlers: becomes a JSON error response."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def empty(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers)


def not_found(text: str) -> HttpError:
    return HttpError(404, {"error": text})


def oauth_error(status: int, error: str, description: str) -> HttpError:
    return HttpError(status, {"error": error, "error_description": description})


UNAUTHORIZED = {"error": "HTTP 401 Unauthorized"}
FORBIDDEN = {"error": "HTTP 403 Forbidden"}
NOT_FOUND = {"error": "HTTP 404 Not Found"}
METHOD_NOT_ALLOWED = {"error": "HTTP 405 Method Not Allowed"}
UNKNOWN_ERROR = {
    "error": "unknown_error",
    "error_description": "For more on this error consult the server log.",
}


@dataclass
class Ctx:
    request: Request
    store: Store
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    # set by admin authorization
    auth: Any = None

    @property
    def query(self) -> Any:
        return self.request.query_params

    @property
    def base_url(self) -> str:
        scheme = self.request.url.scheme
        host = (
            self.request.headers.get("host")
            or f"{self.request.url.hostname}:{self.request.url.port}"
        )
        return f"{scheme}://{host}"

    @property
    def client_ip(self) -> str:
        client = self.request.client
        return client.host if client else "127.0.0.1"

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def json(self) -> Any:
        if not self.body.strip():
            raise HttpError(400, {"error": "Cannot parse the JSON"})
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, {"error": "Cannot parse the JSON"}) from None

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise HttpError(400, {"error": "Cannot parse the JSON"})
        return value

    def json_list(self) -> list[Any]:
        value = self.json()
        if not isinstance(value, list):
            raise HttpError(400, {"error": "Cannot parse the JSON"})
        return value

    def int_query(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except ValueError:
            raise HttpError(404, NOT_FOUND) from None  # RESTEasy: bad @QueryParam int

    def bool_query(self, name: str, default: bool = False) -> bool:
        raw = self.query.get(name)
        if raw in (None, ""):
            return default
        return raw.lower() == "true"


Handler = Callable[[Ctx], Response]


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = []
        self._index: dict[str, dict[str, Handler]] = {}

    def add(self, pattern: str, method: str, handler: Handler) -> None:
        """pattern: a path with {name} segments (one segment each)."""
        table = self._index.get(pattern)
        if table is None:
            regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$")
            table = {}
            self._index[pattern] = table
            self.routes.append((regex, table))
        table[method] = handler

    def route(self, pattern: str, *methods: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for method in methods:
                self.add(pattern, method, handler)
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """(handler, params, path_known)."""
        known = False
        for regex, table in self.routes:
            m = regex.match(path)
            if m is None:
                continue
            known = True
            handler = table.get(method) or (table.get("GET") if method == "HEAD" else None)
            if handler is not None:
                return handler, m.groupdict(), True
        return None, {}, known
