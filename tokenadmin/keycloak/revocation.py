"""Revocation calls: sign-outs, offline session and consent revokes, not-before, push.

Effects as Keycloak documents them (facts sheet §4.2): none of these touches access tokens
already issued; they stay valid until their `exp` wherever they are verified locally.
"""

import http.client
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._base import GatewayBase, realm_path
from .call_metrics import keycloak_call_observed
from .errors import KeycloakUnavailable, error_for_status
from .types import KcClient, KcUser

# Keycloak's own page size for group member lists.
MEMBERS_PAGE_SIZE = 100


@dataclass(frozen=True)
class PushResult:
    """Keycloak's GlobalRequestResult: the management URLs a push (or logout-all) reached."""

    succeeded_urls: tuple[str, ...]
    failed_urls: tuple[str, ...]

    @classmethod
    def from_representation(cls, rep: dict | None) -> "PushResult":
        rep = rep if isinstance(rep, dict) else {}
        return cls(
            succeeded_urls=tuple(rep.get("successRequests") or ()),
            failed_urls=tuple(rep.get("failedRequests") or ()),
        )


@dataclass(frozen=True)
class KcGroup:
    id: str
    name: str
    path: str

    @classmethod
    def from_representation(cls, rep: dict) -> "KcGroup":
        return cls(id=rep["id"], name=rep.get("name", ""), path=rep.get("path", ""))


class SessionDeleter:
    """DELETE /admin/realms/{realm}/sessions/{id}[?isOffline=true], many times, from threads.

    For bulk jobs only. python-keycloak spends about a millisecond of CPU per call in requests'
    session machinery, which caps a thread pool at a few hundred deletes a second whatever
    Keycloak can take. This sends the same request with the gateway's own token over one
    keep-alive connection per thread (the standard library's http.client), with the same
    timeout and the same error mapping.
    """

    def __init__(self, gateway: GatewayBase) -> None:
        self._gateway = gateway
        self._lock = threading.Lock()
        base = urlsplit(gateway.server_url)
        self._https = base.scheme == "https"
        self._host = base.hostname or "localhost"
        self._port = base.port or (443 if self._https else 80)
        self._prefix = base.path.rstrip("/") + "/"  # "/auth/" on old Keycloak, else "/"
        self._timeout = gateway.timeout_s
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []

    def _bearer(self, *, renew: bool) -> str:
        with self._lock:  # one renewal at a time across the job's threads
            return self._gateway.bearer_token(renew=renew)

    def _http(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._https:
                conn = http.client.HTTPSConnection(
                    self._host,
                    self._port,
                    timeout=self._timeout,
                    context=ssl.create_default_context(),
                )
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def _send(self, what: str, path: str, token: str) -> tuple[int, bytes]:
        # Counted and timed for /metrics as the gateway's other calls are (call_metrics.py).
        with keycloak_call_observed("DELETE", path) as answered:
            status, body = self._send_once(what, path, token)
            answered(status)
            return status, body

    def _send_once(self, what: str, path: str, token: str) -> tuple[int, bytes]:
        for attempt in (1, 2):
            conn = self._http()
            try:
                conn.request("DELETE", path, headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError) as exc:
                conn.close()  # the next request opens a fresh connection
                # A kept-alive connection the server closed fails once; a fresh one is news.
                if attempt == 2:
                    raise KeycloakUnavailable(what) from exc
        raise AssertionError("unreachable")

    def delete(self, realm: str, session_id: str, *, offline: bool = False) -> None:
        """Raises NotFound (gone), Forbidden, LoginExpired, KeycloakUnavailable (retryable)."""
        what = f"sign out a session in {realm}"
        path = self._prefix + realm_path(realm, "sessions", session_id)
        if offline:
            path += "?isOffline=true"
        for renew in (False, True):
            status, body = self._send(what, path, self._bearer(renew=renew))
            if status == 204:
                return
            if status != 401:
                break
        raise error_for_status(status, what, body.decode(errors="replace")[:300])

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()


class RevocationCalls(GatewayBase):
    def session_deleter(self) -> SessionDeleter:
        """A fast path for bulk jobs (one connection per calling thread): see SessionDeleter."""
        return SessionDeleter(self)

    def session_delete(self, realm: str, session_id: str, *, offline: bool = False) -> None:
        """DELETE /admin/realms/{realm}/sessions/{id}[?isOffline=true].

        404 (`Sesssion not found`) raises NotFound: bulk jobs count that as "already gone".
        """
        query = {"isOffline": "true"} if offline else {}
        self._delete(
            realm_path(realm, "sessions", session_id), f"sign out a session in {realm}", **query
        )

    def user_logout(self, realm: str, user_id: str) -> None:
        """POST /admin/realms/{realm}/users/{id}/logout: online sessions end; notBefore=now."""
        self._post(realm_path(realm, "users", user_id, "logout"), f"sign out a user of {realm}")

    def consent_revoke(self, realm: str, user_id: str, client_id: str) -> None:
        """DELETE /admin/realms/{realm}/users/{id}/consents/{clientId} (the clientId, not uuid)."""
        self._delete(
            realm_path(realm, "users", user_id, "consents", client_id),
            f"revoke a user's offline tokens for {client_id} in {realm}",
        )

    def realm_logout_all(self, realm: str) -> PushResult:
        """POST /admin/realms/{realm}/logout-all: every online session, realm notBefore=now."""
        body = self._post(realm_path(realm, "logout-all"), f"sign out everyone in {realm}")
        return PushResult.from_representation(body)

    def realm_push_revocation(self, realm: str) -> PushResult:
        """POST /admin/realms/{realm}/push-revocation: notBefore to clients with an adminUrl."""
        body = self._post(
            realm_path(realm, "push-revocation"), f"push the revocation policy of {realm}"
        )
        return PushResult.from_representation(body)

    def client_push_revocation(self, realm: str, client_uuid: str) -> PushResult:
        """POST /admin/realms/{realm}/clients/{uuid}/push-revocation."""
        body = self._post(
            realm_path(realm, "clients", client_uuid, "push-revocation"),
            f"push the revocation policy of a client of {realm}",
        )
        return PushResult.from_representation(body)

    def realm_not_before_set(self, realm: str, not_before_s: int) -> int:
        """GET then PUT /admin/realms/{realm} with `notBefore` changed; returns the old value.

        The whole representation goes back: a partial PUT resets some fields (facts §4.3).
        """
        rep = self._get(realm_path(realm), f"read realm {realm}")
        previous = int(rep.get("notBefore") or 0)
        rep["notBefore"] = int(not_before_s)
        self._put(realm_path(realm), f"set the not-before of {realm}", data=rep)
        return previous

    def client_not_before_set(self, realm: str, client_uuid: str, not_before_s: int) -> int:
        """GET then PUT /admin/realms/{realm}/clients/{uuid} with `notBefore`; returns the old."""
        path = realm_path(realm, "clients", client_uuid)
        rep = self._get(path, f"read a client of {realm}")
        previous = int(rep.get("notBefore") or 0)
        rep["notBefore"] = int(not_before_s)
        self._put(path, f"set the not-before of a client of {realm}", data=rep)
        return previous

    def realm_not_before(self, realm: str) -> int:
        """GET /admin/realms/{realm}: its `notBefore` (epoch s, 0 = none)."""
        return int(self._get(realm_path(realm), f"read realm {realm}").get("notBefore") or 0)

    def client_by_client_id(self, realm: str, client_id: str) -> KcClient | None:
        """GET /admin/realms/{realm}/clients?clientId=…: the client, or None."""
        reps = self._get(
            realm_path(realm, "clients"), f"find client {client_id} in {realm}", clientId=client_id
        )
        for rep in reps:
            if rep.get("clientId") == client_id:
                return KcClient.from_representation(rep)
        return None

    def groups_search(self, realm: str, search: str, *, max_: int = 20) -> list[KcGroup]:
        """GET /admin/realms/{realm}/groups?search=…; matching subgroups are flattened."""
        reps = self._get(
            realm_path(realm, "groups"), f"search the groups of {realm}", search=search, max=max_
        )
        found: list[KcGroup] = []
        stack = list(reps)
        while stack:
            rep = stack.pop(0)
            found.append(KcGroup.from_representation(rep))
            stack.extend(rep.get("subGroups") or [])
        return found

    def group_members_page(
        self, realm: str, group_id: str, *, first: int, max_: int = MEMBERS_PAGE_SIZE
    ) -> list[KcUser]:
        """GET /admin/realms/{realm}/groups/{id}/members?first=&max=."""
        reps = self._get(
            realm_path(realm, "groups", group_id, "members"),
            f"list the members of a group of {realm}",
            first=first,
            max=max_,
        )
        return [KcUser.from_representation(rep) for rep in reps]
