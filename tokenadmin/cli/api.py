"""tokenadmin's /api/v1/ as the command line calls it: the bearer token, one refresh on 401."""

import os
from typing import Any
from urllib.parse import quote

from .credentials import Credentials, credentials_load
from .errors import BAD_INPUT, CliError
from .http import Answer, http_call, problem_error
from .login import credentials_fresh

TOKEN_ENV = "TOKENADMIN_TOKEN"
SERVER_ENV = "TOKENADMIN_SERVER"


def part(text: str) -> str:
    """One path segment (a realm, a client id) escaped for the URL."""
    return quote(text, safe="")


class Api:
    def __init__(self, server: str, *, token: str = "", credentials: Credentials | None = None):
        self.server = server.rstrip("/")
        self._token = token
        self._credentials = credentials

    @classmethod
    def connect(cls, server: str | None) -> "Api":
        """A token from TOKENADMIN_TOKEN (CI: client credentials), else the cached sign-in."""
        token = os.environ.get(TOKEN_ENV, "").strip()
        server = server or os.environ.get(SERVER_ENV, "").strip() or None
        if token:
            if not server:
                raise CliError(f"With {TOKEN_ENV}, give --server or {SERVER_ENV}.", BAD_INPUT)
            return cls(server, token=token)
        credentials = credentials_load()
        return cls(server or credentials.server, credentials=credentials)

    def _bearer(self, *, force_refresh: bool = False) -> str:
        if self._credentials is None:
            return self._token
        self._credentials = credentials_fresh(self._credentials, force=force_refresh)
        return self._credentials.access_token

    def call(self, method: str, path: str, **kw: Any) -> Answer:
        url = f"{self.server}/api/v1{path}"
        answer = http_call(method, url, token=self._bearer(), **kw)
        if answer.status == 401 and self._credentials is not None:
            # Keycloak may have ended the token early (a revoke, a not-before): refresh once.
            answer = http_call(method, url, token=self._bearer(force_refresh=True), **kw)
        return answer

    def json(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kw: Any) -> Any:
        answer = self.call(method, path, **kw)
        if answer.status not in ok:
            raise problem_error(answer)
        return answer.json()
