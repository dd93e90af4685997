"""Calls Keycloak makes to clients: back-channel logout and admin actions (ResourceAdminManager).

- Back-channel logout (OIDC Back-Channel Logout 1.0): for each client session ended by DELETE
  session, user logout, end-session or token logout, a ``logout_token`` (RS256, header typ
  ``logout+jwt``, claim ``typ: "Logout"``) is POSTed as a form field to the client's
  ``backchannel.logout.url`` attribute. Fire-and-forget on a small thread pool with a short
  timeout: it never blocks or fails the call that caused it.
- Admin actions: push-revocation sends ``PushNotBeforeAction`` to ``{adminUrl}/k_push_not_before``
  and logout-all sends ``LogoutAction`` to ``{adminUrl}/k_logout``, each a JWS (RS256, realm key)
  posted as text/plain; the reply is a ``GlobalRequestResult`` listing the adminUrls in
  ``successRequests`` (200/204) or ``failedRequests``. The requests run off the event loop.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.responses import Response

from tokenadmin.emulator.http import json_response
from tokenadmin.emulator.store import new_id
from tokenadmin.emulator.tokens import sign_rs256

if TYPE_CHECKING:
    from tokenadmin.emulator.http import Ctx
    from tokenadmin.emulator.sessions import UserSession
    from tokenadmin.emulator.store import Client, Realm

log = logging.getLogger("tokenadmin.emulator.backchannel")

TIMEOUT_S = 3.0
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="emulator-backchannel")
# Straight to the client: the emulator talks to loopback test receivers, never via a proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _post(url: str, body: bytes, content_type: str) -> bool:
    if not url.startswith(("http://", "https://")):
        log.info("POST %s skipped: not an http(s) URL", url)
        return False
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_S) as response:
            response.read()
            ok = response.status in (200, 204)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        log.info("POST %s failed: %s", url, exc)
        return False
    log.info("POST %s -> %s", url, response.status)
    return ok


def _resolve(client: Client, url: str) -> str:
    root = client.rep.get("rootUrl") or ""
    return root.rstrip("/") + url if url.startswith("/") and root else url


# -- back-channel logout ---------------------------------------------------------------------------
def logout_token(ctx: Ctx, realm: Realm, client: Client, us: UserSession) -> str:
    now = ctx.store.clock.now()
    events: dict[str, Any] = {LOGOUT_EVENT: {}}
    if client.attr("backchannel.logout.revoke.offline.tokens") == "true":
        events["revoke_offline_access"] = True
    claims: dict[str, Any] = {
        "iat": now,
        "exp": now + 120,
        "jti": new_id(),
        "iss": f"{ctx.base_url}/realms/{realm.name}",
        "aud": client.client_id,
        "sub": us.user_id,
        "typ": "Logout",
    }
    if client.attr("backchannel.logout.session.required") != "false":
        claims["sid"] = us.id
    claims["events"] = events
    return sign_rs256(realm.keys, claims, typ="logout+jwt")


def backchannel_logout(
    ctx: Ctx,
    realm: Realm,
    sessions: Iterable[UserSession],
    only_client: str | None = None,
) -> None:
    """Send logout tokens for the client sessions of these sessions (or of one client uuid).

    Call before the sessions lose their clients (detach pops them; remove keeps them)."""
    seen: set[tuple[str, str]] = set()
    for us in sessions:
        for cu in list(us.clients):
            if only_client is not None and cu != only_client:
                continue
            client = realm.clients.get(cu)
            url = client.attr("backchannel.logout.url") if client else None
            if client is None or not url or (cu, us.id) in seen:
                continue
            seen.add((cu, us.id))
            body = urlencode({"logout_token": logout_token(ctx, realm, client, us)}).encode()
            _POOL.submit(_post, _resolve(client, url), body, "application/x-www-form-urlencoded")


# -- admin actions ---------------------------------------------------------------------------------
def _admin_url(client: Client) -> str | None:
    url = client.rep.get("adminUrl")
    return _resolve(client, str(url)) if url else None


def _action(ctx: Ctx, realm: Realm, client: Client, action: str, **extra: Any) -> bytes:
    claims = {
        "id": new_id(),
        "expiration": ctx.store.clock.now() + 30,
        "resource": client.client_id,
        "action": action,
        **extra,
    }
    return sign_rs256(realm.keys, claims).encode()


class GlobalRequestResponse(Response):
    """200 GlobalRequestResult, computed by POSTing admin actions when the response is sent."""

    def __init__(self, requests: list[tuple[str, str, bytes]]) -> None:
        super().__init__(b"", status_code=200, media_type="application/json")
        self.requests = requests  # (adminUrl, target, JWS)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        results = await asyncio.gather(
            *(
                loop.run_in_executor(_POOL, _post, target, body, "text/plain")
                for _, target, body in self.requests
            )
        )
        out: dict[str, list[str]] = {}
        for (admin_url, _, _), ok in zip(self.requests, results, strict=True):
            out.setdefault("successRequests" if ok else "failedRequests", []).append(admin_url)
        await json_response(out)(scope, receive, send)


def push_not_before(ctx: Ctx, realm: Realm, clients: Iterable[Client], not_before: int) -> Response:
    requests = []
    for client in clients:
        url = _admin_url(client)
        if url:
            body = _action(ctx, realm, client, "PUSH_NOT_BEFORE", notBefore=not_before)
            requests.append((url, url.rstrip("/") + "/k_push_not_before", body))
    return GlobalRequestResponse(requests)


def logout_all(ctx: Ctx, realm: Realm, not_before: int) -> Response:
    requests = []
    for client in realm.clients.values():
        url = _admin_url(client)
        if url and client.rep.get("enabled", True):
            body = _action(ctx, realm, client, "LOGOUT", notBefore=not_before)
            requests.append((url, url.rstrip("/") + "/k_logout", body))
    return GlobalRequestResponse(requests)
