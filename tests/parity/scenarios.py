"""Parity scenarios: the Keycloak calls tokenadmin makes, run the same way on any server.

Each scenario is a plain function ``(target, realm) -> observation``. It builds what it needs in
a realm of its own (``realm`` is a fresh unique name), makes the calls tokenadmin's gateway
(tokenadmin/keycloak/) and mozilla-django-oidc make, and returns a normalised, JSON-able
observation: statuses, key sets, types, units, error bodies, counts, orders. Ids and times that
legitimately differ between two servers are reduced to what tokenadmin relies on about them
(e.g. "a start time in epoch milliseconds within a minute of now").

tests/parity/test_parity.py runs every scenario on the emulator and on real Keycloak and asserts
the observations are equal; tests/parity/table.py writes docs/keycloak-parity.md from them.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

REDIRECT = "http://127.0.0.1:8765/oidc/callback/"
AFTER_LOGOUT = "http://127.0.0.1:8765/after-logout/"
APP_SECRET = "app-secret-parity"
TIMEOUT_S = 30
CHEAP_PASSWORDS = "hashAlgorithm(pbkdf2-sha256) and hashIterations(1)"

# The realm fields tokenadmin reads or writes (lifespans, not-before, names).
REALM_FIELDS = (
    "realm",
    "displayName",
    "enabled",
    "notBefore",
    "accessTokenLifespan",
    "accessTokenLifespanForImplicitFlow",
    "ssoSessionIdleTimeout",
    "ssoSessionMaxLifespan",
    "ssoSessionIdleTimeoutRememberMe",
    "ssoSessionMaxLifespanRememberMe",
    "clientSessionIdleTimeout",
    "clientSessionMaxLifespan",
    "offlineSessionIdleTimeout",
    "offlineSessionMaxLifespanEnabled",
    "offlineSessionMaxLifespan",
    "clientOfflineSessionIdleTimeout",
    "clientOfflineSessionMaxLifespan",
    "accessCodeLifespan",
    "accessCodeLifespanUserAction",
    "accessCodeLifespanLogin",
    "actionTokenGeneratedByAdminLifespan",
    "actionTokenGeneratedByUserLifespan",
    "oauth2DeviceCodeLifespan",
    "oauth2DevicePollingInterval",
    "revokeRefreshToken",
    "refreshTokenMaxReuse",
    "rememberMe",
    "adminEventsEnabled",
    "adminEventsDetailsEnabled",
)

# The client fields KcClient reads.
CLIENT_FIELDS = (
    "id",
    "clientId",
    "name",
    "enabled",
    "publicClient",
    "bearerOnly",
    "serviceAccountsEnabled",
    "attributes",
    "notBefore",
)


# -- a server ------------------------------------------------------------------------------------
class Target:
    """One Keycloak (real or emulated) at `base_url`, driven through plain HTTP as master admin."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = ""
        self._token_until = 0.0

    def admin_token(self) -> str:
        if time.monotonic() > self._token_until:
            body = self.token("master", "admin-cli", username="admin", password="admin").json()
            self._token = body["access_token"]
            self._token_until = time.monotonic() + body["expires_in"] - 15
        return self._token

    def admin(
        self, method: str, path: str, token: str | None = None, **kw: Any
    ) -> requests.Response:
        """An admin REST call; `path` is under /admin/realms/."""
        headers = kw.pop("headers", {})
        if token != "":
            headers["Authorization"] = f"Bearer {token or self.admin_token()}"
        url = f"{self.base_url}/admin/realms{path}"
        return requests.request(method, url, headers=headers, timeout=TIMEOUT_S, **kw)

    def oidc_url(self, realm: str, endpoint: str) -> str:
        return f"{self.base_url}/realms/{realm}/protocol/openid-connect/{endpoint}"

    def token(self, realm: str, client_id: str, **form: Any) -> requests.Response:
        """POST the token endpoint; `grant_type` defaults to password."""
        data = {"grant_type": "password", "client_id": client_id, **form}
        data = {k: v for k, v in data.items() if v is not None}
        return requests.post(self.oidc_url(realm, "token"), data=data, timeout=TIMEOUT_S)


def _ok(response: requests.Response, *expected: int) -> requests.Response:
    if response.status_code not in expected:
        raise AssertionError(
            f"{response.request.method} {response.url} -> {response.status_code} "
            f"{response.text[:300]}"
        )
    return response


# -- normalising ---------------------------------------------------------------------------------
def kind(value: Any) -> str:
    """The JSON type of a value: str, int, float, bool, null, list, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "object"


def kinds(rep: dict, fields: tuple[str, ...] | None = None) -> dict[str, str]:
    """{field: JSON type} for `fields` (absent ones say "absent"), or for every key."""
    names = fields if fields is not None else tuple(sorted(rep))
    return {f: kind(rep[f]) if f in rep else "absent" for f in names}


def body_of(response: requests.Response) -> Any:
    """The JSON body, or a note on what else came back (empty, html, text)."""
    if not response.content:
        return "<empty>"
    try:
        return response.json()
    except ValueError:
        if "html" in response.headers.get("Content-Type", ""):
            return "<html>"
        return f"<text:{response.text[:80]}>"


def answer(response: requests.Response) -> dict[str, Any]:
    """Status and body: what an error reply says exactly."""
    return {"status": response.status_code, "body": body_of(response)}


def epoch_ms_now(value: Any) -> str:
    """Whether `value` is an epoch-milliseconds time within ten minutes of now."""
    if not isinstance(value, int):
        return f"not an int: {kind(value)}"
    return "ms~now" if abs(value - time.time() * 1000) < 600_000 else f"off: {value}"


def about_s(seconds: int) -> int:
    """A lifespan counted from "now" (expires_in), to the nearest 10 s: under load Keycloak
    answers 299 for a 300 s token when a second ticks between issuing and replying."""
    return round(seconds / 10) * 10


def epoch_s_now(value: Any) -> str:
    if not isinstance(value, int):
        return f"not an int: {kind(value)}"
    return "s~now" if abs(value - time.time()) < 600 else f"off: {value}"


def jwt_parts(jwt: str) -> tuple[dict, dict]:
    def part(text: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    header, payload, _ = jwt.split(".")
    return part(header), part(payload)


# -- a realm to play in --------------------------------------------------------------------------
def realm_make(t: Target, realm: str, *, users: tuple[str, ...] = ("alice",)) -> dict[str, str]:
    """A realm with admin events on, a confidential client `app`, a public PKCE client `spa`
    and users (password `<name>-pw`, full profile). Returns {"app": uuid, "spa": uuid,
    "<user>": id}."""
    redirect_attrs = {"post.logout.redirect.uris": AFTER_LOGOUT}
    rep = {
        "realm": realm,
        "enabled": True,
        # Cheap password hashing: real Keycloak's default costs ~0.15 s a login.
        "passwordPolicy": CHEAP_PASSWORDS,
        "adminEventsEnabled": True,
        "adminEventsDetailsEnabled": True,
        "clients": [
            {
                "clientId": "app",
                "enabled": True,
                "publicClient": False,
                "secret": APP_SECRET,
                "standardFlowEnabled": True,
                "directAccessGrantsEnabled": True,
                "redirectUris": [REDIRECT],
                "attributes": dict(redirect_attrs),
            },
            {
                "clientId": "spa",
                "enabled": True,
                "publicClient": True,
                "standardFlowEnabled": True,
                "directAccessGrantsEnabled": True,
                "redirectUris": [REDIRECT],
                "attributes": {**redirect_attrs, "pkce.code.challenge.method": "S256"},
            },
        ],
    }
    _ok(t.admin("POST", "", json=rep), 201)
    ids: dict[str, str] = {}
    for client in _ok(t.admin("GET", f"/{realm}/clients"), 200).json():
        if client["clientId"] in ("app", "spa"):
            ids[client["clientId"]] = client["id"]
    for name in users:
        ids[name] = user_make(t, realm, name)
    return ids


def user_make(t: Target, realm: str, name: str) -> str:
    rep = {
        "username": name,
        "enabled": True,
        "email": f"{name}@example.org",
        "emailVerified": True,
        "firstName": name.title(),
        "lastName": "Tester",
        "credentials": [{"type": "password", "value": f"{name}-pw", "temporary": False}],
    }
    created = _ok(t.admin("POST", f"/{realm}/users", json=rep), 201)
    return created.headers["Location"].rsplit("/", 1)[1]


def login(
    t: Target, realm: str, user: str, *, client: str = "app", offline: bool = False
) -> dict[str, Any]:
    """A password grant as `user` (the way sessions are made for the tests)."""
    form: dict[str, Any] = {
        "username": user,
        "password": f"{user}-pw",
        "scope": "openid offline_access" if offline else "openid",
    }
    if client == "app":
        form["client_secret"] = APP_SECRET
    return _ok(t.token(realm, client, **form), 200).json()


def refresh(t: Target, realm: str, refresh_token: str) -> requests.Response:
    return t.token(
        realm,
        "app",
        grant_type="refresh_token",
        refresh_token=refresh_token,
        client_secret=APP_SECRET,
    )


def refresh_outcome(t: Target, realm: str, refresh_token: str) -> Any:
    """200, or the error body of a refused refresh."""
    response = refresh(t, realm, refresh_token)
    return 200 if response.status_code == 200 else answer(response)


def session_rep_shape(rep: dict, ids: dict[str, str]) -> dict[str, Any]:
    """A UserSessionRepresentation reduced to what tokenadmin relies on."""
    names = {v: k for k, v in ids.items()}
    return {
        "keys": sorted(rep),
        "username": rep.get("username"),
        "userId": names.get(rep.get("userId"), "?"),
        "ipAddress": rep.get("ipAddress"),
        "start": epoch_ms_now(rep.get("start")),
        "lastAccess": epoch_ms_now(rep.get("lastAccess")),
        "rememberMe": rep.get("rememberMe"),
        "clients": sorted((names.get(k, "?"), v) for k, v in rep.get("clients", {}).items()),
    }


# -- admin REST: realms ----------------------------------------------------------------------------
def realm_list(t: Target, realm: str) -> dict[str, Any]:
    """GET /admin/realms as master admin: the new realm is listed once, with its fields' types."""
    realm_make(t, realm, users=())
    listed = _ok(t.admin("GET", ""), 200).json()
    mine = [r for r in listed if r.get("realm") == realm]
    return {
        "is a list": isinstance(listed, list),
        "master listed": any(r.get("realm") == "master" for r in listed),
        "new realm listed once": len(mine),
        "fields": kinds(mine[0], ("id", "realm", "displayName", "enabled", "accessTokenLifespan")),
    }


def realm_representation(t: Target, realm: str) -> dict[str, Any]:
    """GET /admin/realms/{realm}: every key, the attributes, the lifespan defaults and types."""
    realm_make(t, realm, users=())
    rep = _ok(t.admin("GET", f"/{realm}"), 200).json()
    return {
        "keys": sorted(rep),
        "attributes": rep.get("attributes"),
        "kinds": kinds(rep, (*REALM_FIELDS, "id", "attributes")),
        "values": {f: rep.get(f) for f in REALM_FIELDS if f not in ("realm",)},
    }


def realm_update_read_modify_write(t: Target, realm: str) -> dict[str, Any]:
    """GET, change lifespans, PUT the whole realm; then a partial PUT keeps other fields."""
    realm_make(t, realm, users=())
    before = _ok(t.admin("GET", f"/{realm}"), 200).json()
    rep = dict(before)
    rep.update(accessTokenLifespan=600, ssoSessionIdleTimeout=2400, offlineSessionMaxLifespan=1.5e6)
    rep["offlineSessionMaxLifespanEnabled"] = True
    put = t.admin("PUT", f"/{realm}", json=rep)
    after = _ok(t.admin("GET", f"/{realm}"), 200).json()
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    # A partial PUT (one field, no attributes) keeps the other fields.
    partial = t.admin("PUT", f"/{realm}", json={"accessTokenLifespan": 700})
    later = _ok(t.admin("GET", f"/{realm}"), 200).json()
    return {
        "full put": answer(put),
        "attributes after full put": after.get("attributes"),
        "changed by full put": changed,
        "values": {
            k: after.get(k)
            for k in (
                "accessTokenLifespan",
                "ssoSessionIdleTimeout",
                "offlineSessionMaxLifespan",
                "offlineSessionMaxLifespanEnabled",
            )
        },
        "partial put": answer(partial),
        "after partial": {
            "accessTokenLifespan": later.get("accessTokenLifespan"),
            "ssoSessionIdleTimeout": later.get("ssoSessionIdleTimeout"),
            "offlineSessionMaxLifespanEnabled": later.get("offlineSessionMaxLifespanEnabled"),
        },
    }


def realm_update_refused(t: Target, realm: str) -> dict[str, Any]:
    """PUT realm with accessCodeLifespanLogin 0 (400 body) and with an unknown field."""
    realm_make(t, realm, users=())
    rep = _ok(t.admin("GET", f"/{realm}"), 200).json()
    zero = t.admin("PUT", f"/{realm}", json={**rep, "accessCodeLifespanLogin": 0})
    unknown = t.admin("PUT", f"/{realm}", json={**rep, "noSuchField": 1})
    return {"accessCodeLifespanLogin 0": answer(zero), "unknown field status": unknown.status_code}


# -- admin REST: clients ---------------------------------------------------------------------
def client_list(t: Target, realm: str) -> dict[str, Any]:
    """GET clients, clients?clientId=, clients/{uuid}: built-in clients, fields, web origins."""
    ids = realm_make(t, realm, users=())
    listed = _ok(t.admin("GET", f"/{realm}/clients"), 200).json()
    by_client_id = _ok(t.admin("GET", f"/{realm}/clients", params={"clientId": "app"}), 200).json()
    one = _ok(t.admin("GET", f"/{realm}/clients/{ids['app']}"), 200).json()
    return {
        "clientIds": sorted(c["clientId"] for c in listed),
        "kinds": kinds(one, CLIENT_FIELDS),
        "app": {k: one.get(k) for k in ("enabled", "publicClient", "bearerOnly")},
        "search by clientId": [c["clientId"] for c in by_client_id],
        "app keys": sorted(one),
        "per client (frontchannelLogout, realm_client, webOrigins)": sorted(
            (
                c["clientId"],
                c.get("frontchannelLogout"),
                c.get("attributes", {}).get("realm_client", "absent"),
                c.get("webOrigins"),
            )
            for c in listed
        ),
        "builtin name of account": next(
            (c.get("name") for c in listed if c["clientId"] == "account"), "absent"
        ),
    }


def client_attribute_override(t: Target, realm: str) -> dict[str, Any]:
    """Client attribute overrides (access.token.lifespan, client.session.idle.timeout): set,
    effect on grants, cleared."""
    ids = realm_make(t, realm)
    path = f"/{realm}/clients/{ids['app']}"
    rep = _ok(t.admin("GET", path), 200).json()
    default_grant = login(t, realm, "alice")
    rep["attributes"] = {
        **rep.get("attributes", {}),
        "access.token.lifespan": "3600",
        "client.session.idle.timeout": "900",
    }
    put = t.admin("PUT", path, json=rep)
    after = _ok(t.admin("GET", path), 200).json()
    grant = login(t, realm, "alice")
    # Clearing an override: the attribute set to "" (the console's way).
    rep = dict(after)
    rep["attributes"] = {**after["attributes"], "access.token.lifespan": ""}
    cleared_put = t.admin("PUT", path, json=rep)
    cleared = _ok(t.admin("GET", path), 200).json()
    cleared_grant = login(t, realm, "alice")
    return {
        "default expires_in": about_s(default_grant["expires_in"]),
        "default refresh_expires_in": about_s(default_grant["refresh_expires_in"]),
        "put": answer(put),
        "attributes kept": {
            k: after["attributes"].get(k)
            for k in ("access.token.lifespan", "client.session.idle.timeout")
        },
        "expires_in": about_s(grant["expires_in"]),
        "refresh_expires_in": about_s(grant["refresh_expires_in"]),
        "cleared put": answer(cleared_put),
        "cleared attribute": cleared["attributes"].get("access.token.lifespan", "absent"),
        "cleared expires_in": about_s(cleared_grant["expires_in"]),
    }


# -- admin REST: sessions ------------------------------------------------------------------------
def sessions_by_client_paging(t: Target, realm: str) -> dict[str, Any]:
    """clients/{uuid}/user-sessions and offline-sessions paged with first/max=2 at the
    boundaries; counts; client-session-stats."""
    ids = realm_make(t, realm, users=("alice", "bob"))
    made = [login(t, realm, u)["session_state"] for u in ("alice", "bob", "alice", "bob", "alice")]
    offline = [login(t, realm, "bob", offline=True)["session_state"] for _ in range(3)]
    base = f"/{realm}/clients/{ids['app']}"

    def pages(kind_: str, size: int, firsts: list[int]) -> list[list[str]]:
        out = []
        for first in firsts:
            got = _ok(
                t.admin("GET", f"{base}/{kind_}", params={"first": first, "max": size}), 200
            ).json()
            out.append([s["id"] for s in got])
        return out

    online_pages = pages("user-sessions", 2, [0, 2, 4, 5, 6])
    online_all = [s["id"] for s in _ok(t.admin("GET", f"{base}/user-sessions"), 200).json()]
    offline_pages = pages("offline-sessions", 2, [0, 2, 3])
    offline_all = [s["id"] for s in _ok(t.admin("GET", f"{base}/offline-sessions"), 200).json()]
    flat = [i for p in online_pages for i in p]
    flat_offline = [i for p in offline_pages for i in p]
    stats = _ok(t.admin("GET", f"/{realm}/client-session-stats"), 200).json()
    return {
        "online page sizes (max=2; first 0,2,4,5,6)": [len(p) for p in online_pages],
        "online pages cover every online session once": sorted(flat) == sorted(made),
        "online sessions listed": len(online_all),
        "offline logins listed online": len(set(offline) & set(online_all)),
        "pages follow the unpaged order": flat == online_all,
        "offline page sizes (max=2; first 0,2,3)": [len(p) for p in offline_pages],
        "offline pages cover every offline session once": sorted(flat_offline)
        == sorted(offline_all),
        "offline sessions listed": len(offline_all),
        "session-count": _ok(t.admin("GET", f"{base}/session-count"), 200).json(),
        "offline-session-count": _ok(t.admin("GET", f"{base}/offline-session-count"), 200).json(),
        "client-session-stats": [
            {"clientId": s["clientId"], "is app": s["id"] == ids["app"], **kinds(s)}
            | {"active": s.get("active"), "offline": s.get("offline")}
            for s in stats
        ],
        "negative first": answer(t.admin("GET", f"{base}/user-sessions", params={"first": -1}))[
            "status"
        ],
    }


def sessions_default_page(t: Target, realm: str) -> dict[str, Any]:
    """101 sessions on one client: Keycloak's default page (no `max`) holds 100."""
    ids = realm_make(t, realm)
    for _ in range(101):
        login(t, realm, "alice")
    base = f"/{realm}/clients/{ids['app']}"
    unpaged = _ok(t.admin("GET", f"{base}/user-sessions"), 200).json()
    second = _ok(t.admin("GET", f"{base}/user-sessions", params={"first": 100}), 200).json()
    both = _ok(t.admin("GET", f"{base}/user-sessions", params={"max": 200}), 200).json()
    stats = _ok(t.admin("GET", f"/{realm}/client-session-stats"), 200).json()
    return {
        "no max": len(unpaged),
        "first=100": len(second),
        "max=200": len(both),
        "distinct over both pages": len({s["id"] for s in unpaged + second}),
        "session-count": _ok(t.admin("GET", f"{base}/session-count"), 200).json(),
        "client-session-stats active": [s.get("active") for s in stats],
        "user sessions": len(
            _ok(t.admin("GET", f"/{realm}/users/{ids['alice']}/sessions"), 200).json()
        ),
    }


def users_search(t: Target, realm: str) -> dict[str, Any]:
    """GET users?search=…&max=… and GET users/{id}, as the session pages look users up."""
    ids = realm_make(t, realm, users=("alice", "alina", "bob"))
    found = _ok(t.admin("GET", f"/{realm}/users", params={"search": "ali", "max": 20}), 200)
    capped = _ok(t.admin("GET", f"/{realm}/users", params={"search": "ali", "max": 1}), 200)
    by_mail = _ok(t.admin("GET", f"/{realm}/users", params={"search": "bob@example"}), 200)
    one = _ok(t.admin("GET", f"/{realm}/users/{ids['bob']}"), 200).json()
    return {
        "search ali": [u["username"] for u in found.json()],
        "search ali max=1": len(capped.json()),
        "search by email": [u["username"] for u in by_mail.json()],
        "user kinds": kinds(
            one, ("id", "username", "email", "firstName", "lastName", "enabled", "createdTimestamp")
        ),
        "user keys": sorted(one),
        "createdTimestamp": epoch_ms_now(one.get("createdTimestamp")),
    }


def users_disabled(t: Target, realm: str) -> dict[str, Any]:
    """GET users?enabled=false&briefRepresentation=true, paged, as the findings check reads
    disabled users; and what a disabled user's sessions and offline sessions become."""
    ids = realm_make(t, realm, users=("alice", "bob", "carol"))
    login(t, realm, "alice")
    login(t, realm, "alice", offline=True)
    for name in ("alice", "bob"):
        _ok(t.admin("PUT", f"/{realm}/users/{ids[name]}", json={"enabled": False}), 204)
    query = {"enabled": "false", "briefRepresentation": "true"}
    listed = _ok(t.admin("GET", f"/{realm}/users", params={**query, "max": 100}), 200).json()
    first = _ok(t.admin("GET", f"/{realm}/users", params={**query, "first": 0, "max": 1}), 200)
    second = _ok(t.admin("GET", f"/{realm}/users", params={**query, "first": 1, "max": 1}), 200)
    offline = _ok(
        t.admin("GET", f"/{realm}/users/{ids['alice']}/offline-sessions/{ids['app']}"), 200
    )
    return {
        "disabled": sorted(u["username"] for u in listed),
        "enabled flags": sorted({u["enabled"] for u in listed}),
        "paged": [u["username"] for u in first.json() + second.json()],
        "alice sessions after disable": len(
            _ok(t.admin("GET", f"/{realm}/users/{ids['alice']}/sessions"), 200).json()
        ),
        "alice offline sessions after disable": len(offline.json()),
    }


def user_sessions(t: Target, realm: str) -> dict[str, Any]:
    """GET users/{id}/sessions after two logins on two clients: the UserSessionRepresentation."""
    ids = realm_make(t, realm)
    grants = [login(t, realm, "alice"), login(t, realm, "alice", client="spa")]
    listed = _ok(t.admin("GET", f"/{realm}/users/{ids['alice']}/sessions"), 200).json()
    listed.sort(key=lambda s: s["clients"] and sorted(s["clients"].values())[0])
    return {
        "count": len(listed),
        "ids are the session_state of the grants": sorted(s["id"] for s in listed)
        == sorted(g["session_state"] for g in grants),
        "sessions": [session_rep_shape(s, ids) for s in listed],
        "unknown user": answer(t.admin("GET", f"/{realm}/users/nobody/sessions")),
    }


def offline_sessions(t: Target, realm: str) -> dict[str, Any]:
    """A direct grant with offline_access: users/{id}/offline-sessions/{uuid}, the refresh
    token, no online twin."""
    ids = realm_make(t, realm)
    grant = login(t, realm, "alice", offline=True)
    _, refresh_claims = jwt_parts(grant["refresh_token"])
    user = ids["alice"]
    offline = _ok(t.admin("GET", f"/{realm}/users/{user}/offline-sessions/{ids['app']}"), 200)
    online = _ok(t.admin("GET", f"/{realm}/users/{user}/sessions"), 200).json()
    other_client = _ok(t.admin("GET", f"/{realm}/users/{user}/offline-sessions/{ids['spa']}"), 200)
    listed = offline.json()
    return {
        "grant keys": sorted(grant),
        "refresh token typ": refresh_claims.get("typ"),
        "refresh token has exp": "exp" in refresh_claims,
        "refresh_expires_in": about_s(grant["refresh_expires_in"]),
        "offline count": len(listed),
        "offline id is session_state": [s["id"] for s in listed] == [grant["session_state"]],
        "offline session": session_rep_shape(listed[0], ids) if listed else None,
        "online count": len(online),
        "other client's offline sessions": len(other_client.json()),
        "unknown client": answer(t.admin("GET", f"/{realm}/users/{user}/offline-sessions/nope")),
    }


def consents_and_revocation(t: Target, realm: str) -> dict[str, Any]:
    """GET users/{id}/consents, DELETE consents/{clientId}: what goes, which refreshes work."""
    ids = realm_make(t, realm)
    user = ids["alice"]
    online = login(t, realm, "alice")
    offline = login(t, realm, "alice", offline=True)
    consents = _ok(t.admin("GET", f"/{realm}/users/{user}/consents"), 200).json()
    revoke = t.admin("DELETE", f"/{realm}/users/{user}/consents/app")
    after = _ok(t.admin("GET", f"/{realm}/users/{user}/consents"), 200).json()
    offline_after = _ok(
        t.admin("GET", f"/{realm}/users/{user}/offline-sessions/{ids['app']}"), 200
    ).json()
    online_after = _ok(t.admin("GET", f"/{realm}/users/{user}/sessions"), 200).json()
    return {
        "consents": [
            {
                "keys": sorted(c),
                "clientId": c.get("clientId"),
                "grantedClientScopes": sorted(c.get("grantedClientScopes", [])),
                "createdDate": epoch_ms_now(c.get("createdDate")),
                "lastUpdatedDate": epoch_ms_now(c.get("lastUpdatedDate")),
                "additionalGrants": [
                    {"key": g.get("key"), "client is app": g.get("client") == ids["app"]}
                    for g in c.get("additionalGrants", [])
                ],
            }
            for c in consents
        ],
        "revoke": answer(revoke),
        "consents after": len(after),
        "offline sessions after": len(offline_after),
        "online sessions after": len(online_after),
        "offline refresh after": refresh_outcome(t, realm, offline["refresh_token"]),
        "online refresh after": refresh_outcome(t, realm, online["refresh_token"]),
        "revoke again": answer(t.admin("DELETE", f"/{realm}/users/{user}/consents/app")),
        "revoke unknown client": answer(t.admin("DELETE", f"/{realm}/users/{user}/consents/nope")),
    }


def session_delete(t: Target, realm: str) -> dict[str, Any]:
    """DELETE sessions/{id} (online, then ?isOffline=true): what is left, refreshes, 404s."""
    ids = realm_make(t, realm)
    user = ids["alice"]
    first = login(t, realm, "alice")
    second = login(t, realm, "alice")
    offline = login(t, realm, "alice", offline=True)
    deleted = t.admin("DELETE", f"/{realm}/sessions/{first['session_state']}")
    left = _ok(t.admin("GET", f"/{realm}/users/{user}/sessions"), 200).json()
    offline_deleted = t.admin(
        "DELETE", f"/{realm}/sessions/{offline['session_state']}", params={"isOffline": "true"}
    )
    offline_left = _ok(
        t.admin("GET", f"/{realm}/users/{user}/offline-sessions/{ids['app']}"), 200
    ).json()
    online_left = _ok(t.admin("GET", f"/{realm}/users/{user}/sessions"), 200).json()
    return {
        "delete": answer(deleted),
        "online left": len(left),
        # The offline direct grant has no online twin on 26.7.3: only `second` is left.
        "the other session stays": [s["id"] for s in left] == [second["session_state"]],
        "refresh of deleted": refresh_outcome(t, realm, first["refresh_token"]),
        "refresh of other": refresh_outcome(t, realm, second["refresh_token"]),
        "delete again": answer(t.admin("DELETE", f"/{realm}/sessions/{first['session_state']}")),
        "delete offline": answer(offline_deleted),
        "offline left": len(offline_left),
        "online left after offline delete": len(online_left),
        "refresh of deleted offline": refresh_outcome(t, realm, offline["refresh_token"]),
    }


def user_logout(t: Target, realm: str) -> dict[str, Any]:
    """POST users/{id}/logout: online sessions end, offline stay listed but stale."""
    ids = realm_make(t, realm, users=("alice", "bob"))
    user = ids["alice"]
    online = login(t, realm, "alice")
    login(t, realm, "alice", client="spa")
    offline = login(t, realm, "alice", offline=True)
    bob = login(t, realm, "bob")
    time.sleep(1.1)  # tokens issued a second before the user's new not-before (1 s steps)
    out = t.admin("POST", f"/{realm}/users/{user}/logout")
    return {
        "logout": answer(out),
        "online left": len(_ok(t.admin("GET", f"/{realm}/users/{user}/sessions"), 200).json()),
        "offline left": len(
            _ok(t.admin("GET", f"/{realm}/users/{user}/offline-sessions/{ids['app']}"), 200).json()
        ),
        "refresh online": refresh_outcome(t, realm, online["refresh_token"]),
        "refresh offline": refresh_outcome(t, realm, offline["refresh_token"]),
        "other user's refresh": refresh_outcome(t, realm, bob["refresh_token"]),
        "unknown user": answer(t.admin("POST", f"/{realm}/users/nobody/logout")),
    }


def realm_logout_all(t: Target, realm: str) -> dict[str, Any]:
    """POST logout-all: reply, realm notBefore, online and offline sessions after, refreshes."""
    ids = realm_make(t, realm, users=("alice", "bob"))
    online = login(t, realm, "alice")
    login(t, realm, "bob", client="spa")
    offline = login(t, realm, "bob", offline=True)
    before = _ok(t.admin("GET", f"/{realm}"), 200).json()["notBefore"]
    time.sleep(1.1)  # tokens issued a second before the new not-before (it has 1 s steps)
    out = t.admin("POST", f"/{realm}/logout-all")
    after = _ok(t.admin("GET", f"/{realm}"), 200).json()["notBefore"]
    counts = {
        c: _ok(t.admin("GET", f"/{realm}/clients/{ids[c]}/session-count"), 200).json()["count"]
        for c in ("app", "spa")
    }
    return {
        "logout-all": answer(out),
        "notBefore before": before,
        "notBefore after": epoch_s_now(after),
        "online counts after": counts,
        "offline count after": _ok(
            t.admin("GET", f"/{realm}/clients/{ids['app']}/offline-session-count"), 200
        ).json(),
        "refresh online": refresh_outcome(t, realm, online["refresh_token"]),
        "refresh offline": refresh_outcome(t, realm, offline["refresh_token"]),
    }


def not_before_and_push(t: Target, realm: str) -> dict[str, Any]:
    """Realm and client notBefore by read-modify-write PUT, push-revocation for both."""
    ids = realm_make(t, realm)
    early = login(t, realm, "alice")
    realm_rep = _ok(t.admin("GET", f"/{realm}"), 200).json()
    stamp = int(time.time()) + 2
    realm_put = t.admin("PUT", f"/{realm}", json={**realm_rep, "notBefore": stamp})
    realm_after = _ok(t.admin("GET", f"/{realm}"), 200).json()["notBefore"]
    push = t.admin("POST", f"/{realm}/push-revocation")
    refused = refresh_outcome(t, realm, early["refresh_token"])
    cleared = t.admin("PUT", f"/{realm}", json={**realm_rep, "notBefore": 0})
    # Client not-before: read-modify-write of the client.
    path = f"/{realm}/clients/{ids['app']}"
    client_rep = _ok(t.admin("GET", path), 200).json()
    client_before = client_rep.get("notBefore", "absent")
    client_put = t.admin("PUT", path, json={**client_rep, "notBefore": stamp})
    client_after = _ok(t.admin("GET", path), 200).json().get("notBefore", "absent")
    client_push = t.admin("POST", f"{path}/push-revocation")
    client_after_push = _ok(t.admin("GET", path), 200).json().get("notBefore", "absent")
    return {
        "realm put": answer(realm_put),
        "realm notBefore kept": realm_after == stamp,
        "realm push": answer(push),
        "refresh older than realm notBefore": refused,
        "realm clear": answer(cleared),
        "client notBefore before": client_before,
        "client put": answer(client_put),
        "client notBefore kept": client_after == stamp,
        "client push": answer(client_push),
        "client push changes notBefore": client_after_push != client_after,
        "push unknown client": answer(t.admin("POST", f"/{realm}/clients/nope/push-revocation")),
    }


# -- admin REST: groups and events -----------------------------------------------------------------
def groups_and_members(t: Target, realm: str) -> dict[str, Any]:
    """groups?search= (subgroups), groups/{id}, members paged with first/max."""
    users = ("alice", "bob", "carol")
    ids = realm_make(t, realm, users=users)
    staff = _ok(t.admin("POST", f"/{realm}/groups", json={"name": "staff"}), 201)
    staff_id = staff.headers["Location"].rsplit("/", 1)[1]
    ops = _ok(t.admin("POST", f"/{realm}/groups/{staff_id}/children", json={"name": "ops"}), 201)
    ops_id = ops.headers["Location"].rsplit("/", 1)[1]
    for name in users:
        _ok(t.admin("PUT", f"/{realm}/users/{ids[name]}/groups/{ops_id}"), 204)
    search = _ok(t.admin("GET", f"/{realm}/groups", params={"search": "ops", "max": 20}), 200)
    group = _ok(t.admin("GET", f"/{realm}/groups/{ops_id}"), 200).json()

    def members(first: int, size: int) -> list[str]:
        got = t.admin(
            "GET", f"/{realm}/groups/{ops_id}/members", params={"first": first, "max": size}
        )
        return sorted(u["username"] for u in _ok(got, 200).json())

    page_sizes = [len(members(f, 2)) for f in (0, 2, 3)]
    all_members = members(0, 100)

    def tree(reps: list[dict]) -> list[Any]:
        return [
            {"name": g.get("name"), "path": g.get("path"), "sub": tree(g.get("subGroups") or [])}
            for g in reps
        ]

    member = _ok(t.admin("GET", f"/{realm}/groups/{ops_id}/members"), 200).json()[0]
    return {
        "search tree": tree(search.json()),
        "group": {
            "name": group.get("name"),
            "path": group.get("path"),
            "parent is staff": group.get("parentId") == staff_id,
            "keys": sorted(group),
        },
        "member page sizes (max=2; first 0,2,3)": page_sizes,
        "members": all_members,
        "member kinds": kinds(
            member, ("id", "username", "email", "firstName", "lastName", "enabled")
        ),
        "unknown group": answer(t.admin("GET", f"/{realm}/groups/nope")),
        "members of unknown group": answer(t.admin("GET", f"/{realm}/groups/nope/members")),
    }


def admin_events(t: Target, realm: str) -> dict[str, Any]:
    """admin-events?resourceTypes=REALM&operationTypes=UPDATE: fields, order, units; all events'
    types."""
    ids = realm_make(t, realm)
    rep = _ok(t.admin("GET", f"/{realm}"), 200).json()
    _ok(t.admin("PUT", f"/{realm}", json={**rep, "accessTokenLifespan": 400}), 204)
    _ok(t.admin("PUT", f"/{realm}", json={**rep, "accessTokenLifespan": 500}), 204)
    session = login(t, realm, "alice")["session_state"]
    _ok(t.admin("DELETE", f"/{realm}/sessions/{session}"), 204)
    _ok(t.admin("POST", f"/{realm}/users/{ids['alice']}/logout"), 204)
    updates = _ok(
        t.admin(
            "GET",
            f"/{realm}/admin-events",
            params={"resourceTypes": "REALM", "operationTypes": "UPDATE", "max": 50},
        ),
        200,
    ).json()
    every = _ok(t.admin("GET", f"/{realm}/admin-events"), 200).json()
    master_id = _ok(t.admin("GET", "/master"), 200).json()["id"]
    found = t.admin("GET", "/master/clients", params={"clientId": "admin-cli"})
    admin_cli = _ok(found, 200).json()[0]["id"]
    first = updates[0] if updates else {}
    auth = first.get("authDetails", {})
    represented = json.loads(first["representation"]) if "representation" in first else {}
    return {
        "update events": len(updates),
        "newest first": [
            json.loads(e.get("representation", "{}")).get("accessTokenLifespan") for e in updates
        ],
        "event keys": sorted(first),
        "authDetails keys": sorted(auth),
        "auth realm is master": auth.get("realmId") == master_id,
        "auth client is master's admin-cli": auth.get("clientId") == admin_cli,
        "time": epoch_ms_now(first.get("time")),
        "resourcePath": first.get("resourcePath"),
        "representation kind": kind(first.get("representation")),
        "representation has realm": represented.get("realm") == realm,
        "all events (type, op, path shape)": sorted(
            (
                e.get("resourceType"),
                e.get("operationType"),
                re.sub(r"/[^/]+", "/<id>", e.get("resourcePath", ""), count=1),
            )
            for e in every
        ),
    }


# -- role checks ----------------------------------------------------------------------------------
def role_checks(t: Target, realm: str) -> dict[str, Any]:
    """A realm user with only view-users, signed in through the realm's own admin-cli."""
    ids = realm_make(t, realm, users=("viewer", "nobody"))
    clients = _ok(t.admin("GET", f"/{realm}/clients", params={"clientId": "realm-management"}), 200)
    mgmt = clients.json()[0]["id"]
    role = _ok(t.admin("GET", f"/{realm}/clients/{mgmt}/roles/view-users"), 200).json()
    _ok(
        t.admin(
            "POST", f"/{realm}/users/{ids['viewer']}/role-mappings/clients/{mgmt}", json=[role]
        ),
        204,
    )
    viewer = _ok(t.token(realm, "admin-cli", username="viewer", password="viewer-pw"), 200).json()[
        "access_token"
    ]
    nobody = _ok(t.token(realm, "admin-cli", username="nobody", password="nobody-pw"), 200).json()[
        "access_token"
    ]
    realm_rep = t.admin("GET", f"/{realm}", token=viewer)
    return {
        "no token": answer(t.admin("GET", f"/{realm}/users", token="")),
        "garbage token": answer(t.admin("GET", f"/{realm}/users", token="not.a.jwt")),
        "view-users lists users": t.admin("GET", f"/{realm}/users", token=viewer).status_code,
        "view-users reads sessions": t.admin(
            "GET", f"/{realm}/users/{ids['viewer']}/sessions", token=viewer
        ).status_code,
        "view-users updates realm": answer(
            t.admin("PUT", f"/{realm}", token=viewer, json={"accessTokenLifespan": 100})
        ),
        "view-users deletes a session": answer(
            t.admin("DELETE", f"/{realm}/sessions/whatever", token=viewer)
        ),
        "view-users logs out all": answer(t.admin("POST", f"/{realm}/logout-all", token=viewer)),
        "view-users lists clients": answer(t.admin("GET", f"/{realm}/clients", token=viewer))[
            "status"
        ],
        "view-users reads realm": {
            "status": realm_rep.status_code,
            "has lifespans": "accessTokenLifespan" in realm_rep.json(),
        },
        "view-users reads admin events": answer(
            t.admin("GET", f"/{realm}/admin-events", token=viewer)
        ),
        "no role lists users": answer(t.admin("GET", f"/{realm}/users", token=nobody)),
        "no role lists realms": answer(t.admin("GET", "", token=nobody)),
        "other realm": answer(t.admin("GET", "/master/users", token=viewer)),
        "token of an ended session": _ended_session_answer(t, realm, ids["viewer"]),
    }


def _ended_session_answer(t: Target, realm: str, user_id: str) -> dict[str, Any]:
    """The viewer's admin login is signed out: its still-unexpired token gets 401."""
    grant = _ok(t.token(realm, "admin-cli", username="viewer", password="viewer-pw"), 200).json()
    _ok(t.admin("DELETE", f"/{realm}/sessions/{grant['session_state']}"), 204)
    return answer(t.admin("GET", f"/{realm}/users", token=grant["access_token"]))


# -- error bodies ---------------------------------------------------------------------------------
def error_bodies(t: Target, realm: str) -> dict[str, Any]:
    """404 and 409 bodies of the admin calls tokenadmin makes."""
    ids = realm_make(t, realm)
    user = ids["alice"]
    dup_user = {"username": "alice", "enabled": True, "email": "other@example.org"}
    return {
        "unknown realm": answer(t.admin("GET", "/no-such-realm-x")),
        "unknown user": answer(t.admin("GET", f"/{realm}/users/nope")),
        "unknown client": answer(t.admin("GET", f"/{realm}/clients/nope")),
        "unknown client sessions": answer(t.admin("GET", f"/{realm}/clients/nope/user-sessions")),
        "unknown session": answer(t.admin("DELETE", f"/{realm}/sessions/nope")),
        "consents of unknown user": answer(t.admin("GET", f"/{realm}/users/nope/consents")),
        "unknown consent": answer(t.admin("DELETE", f"/{realm}/users/{user}/consents/app")),
        "duplicate realm": answer(t.admin("POST", "", json={"realm": realm, "enabled": True})),
        "duplicate user": answer(t.admin("POST", f"/{realm}/users", json=dup_user)),
        "duplicate client": answer(t.admin("POST", f"/{realm}/clients", json={"clientId": "app"})),
        "unknown path": answer(t.admin("GET", f"/{realm}/no-such-thing")),
    }


# -- OIDC ------------------------------------------------------------------------------------
def password_grant_errors(t: Target, realm: str) -> dict[str, Any]:
    """Token endpoint errors of the password grant (wrong password: 400 on 26.7.3)."""
    realm_make(t, realm)
    app = {"client_secret": APP_SECRET}
    return {
        "wrong password": answer(t.token(realm, "app", username="alice", password="x", **app)),
        "unknown user": answer(t.token(realm, "app", username="zed", password="x", **app)),
        "wrong secret": answer(
            t.token(realm, "app", username="alice", password="alice-pw", client_secret="x")
        ),
        "unknown client": answer(t.token(realm, "nope", username="alice", password="alice-pw")),
        "no grant type": answer(t.token(realm, "app", grant_type=None, **app)),
        "empty grant type": answer(t.token(realm, "app", grant_type="", **app)),
        "bad grant type": answer(t.token(realm, "app", grant_type="magic", **app)),
        "success keys": sorted(login(t, realm, "alice")),
    }


def oidc_discovery(t: Target, realm: str) -> dict[str, Any]:
    """The discovery document (keys, endpoints, PKCE methods) and the JWKS."""
    realm_make(t, realm, users=())
    issuer = f"{t.base_url}/realms/{realm}"
    found = _ok(requests.get(f"{issuer}/.well-known/openid-configuration", timeout=30), 200)
    doc = found.json()
    certs = _ok(requests.get(doc["jwks_uri"], timeout=30), 200).json()
    endpoints = {
        k: v.removeprefix(issuer) if isinstance(v, str) else v
        for k, v in doc.items()
        if k.endswith("_endpoint") or k in ("issuer", "jwks_uri", "check_session_iframe")
    }
    return {
        "content type": found.headers.get("Content-Type", "").split(";")[0],
        "endpoints": endpoints,
        "keys": sorted(doc),
        "code_challenge_methods_supported": sorted(doc["code_challenge_methods_supported"]),
        "id_token_signing_alg_values_supported has RS256": "RS256"
        in doc["id_token_signing_alg_values_supported"],
        "response_types_supported has code": "code" in doc["response_types_supported"],
        "scopes_supported starts with openid": doc["scopes_supported"][:1],
        "jwks": sorted((k.get("alg"), k.get("use"), k.get("kty")) for k in certs["keys"]),
        "jwk keys": sorted(certs["keys"][0]),
    }


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def _login_page(t: Target, realm: str, client_id: str, **extra: str) -> tuple[Any, Any]:
    session = requests.Session()
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid email profile",
        "state": "st-123",
        "nonce": "nonce-456",
        **extra,
    }
    page = session.get(
        t.oidc_url(realm, "auth"), params=params, allow_redirects=False, timeout=TIMEOUT_S
    )
    _cookies_over_http(session)
    return session, page


def _cookies_over_http(session: requests.Session) -> None:
    """Keycloak marks its login cookies Secure; a browser sends them to 127.0.0.1 over http
    (a secure context), requests does not unless told."""
    for cookie in session.cookies:
        cookie.secure = False


def _form_action(page: requests.Response) -> str:
    match = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    return html.unescape(match.group(1)) if match else ""


def _code_login(
    t: Target, realm: str, client_id: str, user: str, password: str, **extra: str
) -> tuple[requests.Session, requests.Response]:
    session, page = _login_page(t, realm, client_id, **extra)
    posted = session.post(
        _form_action(page),
        data={"username": user, "password": password},
        allow_redirects=False,
        timeout=TIMEOUT_S,
    )
    _cookies_over_http(session)
    return session, posted


def oidc_login_page(t: Target, realm: str) -> dict[str, Any]:
    """The authorization endpoint's login page: form, its action, wrong password, bad redirect,
    unknown client."""
    realm_make(t, realm)
    _, page = _login_page(t, realm, "app")
    fields = sorted(
        set(re.findall(r'<input[^>]*name="([^"]+)"', page.text))
        & {"username", "password", "credentialId"}
    )
    action = urlsplit(_form_action(page))
    _, wrong = _code_login(t, realm, "app", "alice", "wrong")
    _, bad_redirect = _login_page(t, realm, "app", redirect_uri="http://evil.example/cb")
    _, unknown_client = _login_page(t, realm, "nope")
    return {
        "status": page.status_code,
        "content type": page.headers.get("Content-Type", "").split(";")[0],
        "form posts to": action.path,
        "form query keys": sorted(parse_qs(action.query)),
        "inputs": fields,
        "wrong password": {
            "status": wrong.status_code,
            "shows the form again": bool(_form_action(wrong)),
            "says": "Invalid username or password." in wrong.text,
        },
        "bad redirect_uri": {
            "status": bad_redirect.status_code,
            "redirects": "Location" in bad_redirect.headers,
        },
        "unknown client": {"status": unknown_client.status_code},
    }


def oidc_code_pkce(t: Target, realm: str) -> dict[str, Any]:
    """Code flow with PKCE S256 on a public client: redirect, wrong/missing verifier, exchange,
    reuse."""
    realm_make(t, realm)
    verifier, challenge = _pkce()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    _, posted = _code_login(t, realm, "spa", "alice", "alice-pw", **pkce)
    location = posted.headers.get("Location", "")
    query = parse_qs(urlsplit(location).query)
    code = query.get("code", [""])[0]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    wrong = t.token(realm, "spa", **exchange, code_verifier=_pkce()[0])
    _, posted_again = _code_login(t, realm, "spa", "alice", "alice-pw", **pkce)
    code2 = parse_qs(urlsplit(posted_again.headers.get("Location", "")).query).get("code", [""])[0]
    missing = t.token(realm, "spa", **{**exchange, "code": code2})
    _, posted3 = _code_login(t, realm, "spa", "alice", "alice-pw", **pkce)
    code3 = parse_qs(urlsplit(posted3.headers.get("Location", "")).query).get("code", [""])[0]
    good = t.token(realm, "spa", **{**exchange, "code": code3}, code_verifier=verifier)
    reused = t.token(realm, "spa", **{**exchange, "code": code3}, code_verifier=verifier)
    _, no_pkce = _login_page(t, realm, "spa")
    return {
        "login post": posted.status_code,
        "redirect target": location.split("?")[0],
        "redirect query keys in order": list(query),
        "state echoed": query.get("state") == ["st-123"],
        "iss": query.get("iss", [""])[0].removeprefix(t.base_url),
        "wrong verifier": answer(wrong),
        "missing verifier": answer(missing),
        "good exchange": good.status_code,
        "good keys": sorted(good.json()) if good.status_code == 200 else body_of(good),
        "token_type": good.json().get("token_type") if good.status_code == 200 else None,
        "code reused": answer(reused),
        "client forcing PKCE, no challenge": {
            "status": no_pkce.status_code,
            "location query": sorted(
                parse_qs(
                    urlsplit(no_pkce.headers.get("Location", "")).query.replace(
                        requests.utils.quote(t.base_url, safe=""), "BASE"
                    )
                ).items()
            )
            if "Location" in no_pkce.headers
            else None,
        },
    }


def _code_tokens(t: Target, realm: str) -> tuple[requests.Session, dict[str, Any]]:
    session, posted = _code_login(t, realm, "app", "alice", "alice-pw")
    code = parse_qs(urlsplit(posted.headers["Location"]).query)["code"][0]
    tokens = t.token(
        realm,
        "app",
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        client_secret=APP_SECRET,
    )
    return session, _ok(tokens, 200).json()


def oidc_id_token_claims(t: Target, realm: str) -> dict[str, Any]:
    """Tokens from a code exchange: ID, access and refresh claims, headers, reply keys."""
    ids = realm_make(t, realm)
    _, tokens = _code_tokens(t, realm)
    id_header, id_claims = jwt_parts(tokens["id_token"])
    access_header, access = jwt_parts(tokens["access_token"])
    _, refresh_claims = jwt_parts(tokens["refresh_token"])
    issuer = f"{t.base_url}/realms/{realm}"
    jwks = requests.get(t.oidc_url(realm, "certs"), timeout=30).json()
    return {
        "id header": {k: id_header.get(k) for k in ("alg", "typ")}
        | {"kid in jwks": id_header.get("kid") in [k["kid"] for k in jwks["keys"]]},
        "access header": {k: access_header.get(k) for k in ("alg", "typ")},
        "id claims": sorted(id_claims),
        "id values": {
            "iss": id_claims.get("iss") == issuer,
            "aud": id_claims.get("aud"),
            "azp": id_claims.get("azp"),
            "typ": id_claims.get("typ"),
            "nonce": id_claims.get("nonce"),
            "sub is the user": id_claims.get("sub") == ids["alice"],
            "sid is session_state": id_claims.get("sid") == tokens["session_state"],
            "email": id_claims.get("email"),
            "preferred_username": id_claims.get("preferred_username"),
            "name": id_claims.get("name"),
            "exp - iat": about_s(id_claims["exp"] - id_claims["iat"]),
            "auth_time": epoch_s_now(id_claims.get("auth_time")),
            "exp is access exp": id_claims["exp"] == access["exp"],
        },
        "access claims": sorted(access),
        "access values": {
            "aud": access.get("aud"),
            "typ": access.get("typ"),
            "azp": access.get("azp"),
            "scope": sorted(access.get("scope", "").split()),
            "realm roles": sorted(access.get("realm_access", {}).get("roles", [])),
            "resource_access": sorted(access.get("resource_access", {})),
            "acr": access.get("acr"),
        },
        "refresh claims": sorted(refresh_claims),
        "refresh values": {
            "typ": refresh_claims.get("typ"),
            "aud is issuer": refresh_claims.get("aud") == issuer,
        },
        "token reply keys": sorted(tokens),
        "expires_in": about_s(tokens["expires_in"]),
        "refresh_expires_in": about_s(tokens["refresh_expires_in"]),
        "scope": sorted(tokens["scope"].split()),
    }


def oidc_refresh(t: Target, realm: str) -> dict[str, Any]:
    """Refresh grant: reply, no rotation by default, bad-token errors, userinfo."""
    realm_make(t, realm)
    _, tokens = _code_tokens(t, realm)
    renewed = refresh(t, realm, tokens["refresh_token"])
    body = renewed.json()
    _, old_claims = jwt_parts(tokens["refresh_token"])
    _, new_claims = jwt_parts(body["refresh_token"])
    old_again = refresh(t, realm, tokens["refresh_token"])
    return {
        "status": renewed.status_code,
        "keys": sorted(body),
        "same session": body["session_state"] == tokens["session_state"],
        "new refresh token": body["refresh_token"] != tokens["refresh_token"],
        "same sid claim": new_claims.get("sid") == old_claims.get("sid"),
        "old token still works (no rotation)": old_again.status_code,
        "garbage": answer(refresh(t, realm, "garbage")),
        "missing": answer(
            t.token(realm, "app", grant_type="refresh_token", client_secret=APP_SECRET)
        ),
        "other client": answer(
            t.token(realm, "spa", grant_type="refresh_token", refresh_token=body["refresh_token"])
        ),
        "userinfo": sorted(
            requests.get(
                t.oidc_url(realm, "userinfo"),
                headers={"Authorization": f"Bearer {body['access_token']}"},
                timeout=TIMEOUT_S,
            ).json()
        ),
    }


def oidc_end_session(t: Target, realm: str) -> dict[str, Any]:
    """Browser end-session with id_token_hint and post_logout_redirect_uri; unregistered URI; no
    hint."""
    ids = realm_make(t, realm)
    session, tokens = _code_tokens(t, realm)
    params = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": AFTER_LOGOUT,
        "client_id": "app",
        "state": "bye",
    }
    out = session.get(t.oidc_url(realm, "logout"), params=params, allow_redirects=False, timeout=30)
    left = _ok(t.admin("GET", f"/{realm}/users/{ids['alice']}/sessions"), 200).json()
    # Signed out: a new authorize shows the login form again (no SSO cookie reuse).
    _, page = _login_page(t, realm, "app")
    _, again = _code_tokens(t, realm)
    unregistered = requests.get(
        t.oidc_url(realm, "logout"),
        params={
            **params,
            "id_token_hint": again["id_token"],
            "post_logout_redirect_uri": "http://evil.example/",
        },
        allow_redirects=False,
        timeout=30,
    )
    no_hint = requests.get(t.oidc_url(realm, "logout"), allow_redirects=False, timeout=30)
    return {
        "status": out.status_code,
        "location": out.headers.get("Location", "").split("?")[0],
        "location query": sorted(parse_qs(urlsplit(out.headers.get("Location", "")).query).items()),
        "sessions left": len(left),
        "refresh after": refresh_outcome(t, realm, tokens["refresh_token"]),
        "login form shown again": page.status_code == 200 and bool(_form_action(page)),
        "unregistered redirect": {
            "status": unregistered.status_code,
            "redirects": "Location" in unregistered.headers,
        },
        "no hint": {"status": no_hint.status_code, "content": body_of(no_hint)},
    }


SCENARIOS: dict[str, Callable[[Target, str], dict[str, Any]]] = {
    f.__name__: f
    for f in (
        realm_list,
        realm_representation,
        realm_update_read_modify_write,
        realm_update_refused,
        client_list,
        client_attribute_override,
        sessions_by_client_paging,
        sessions_default_page,
        users_search,
        users_disabled,
        user_sessions,
        offline_sessions,
        consents_and_revocation,
        session_delete,
        user_logout,
        realm_logout_all,
        not_before_and_push,
        groups_and_members,
        admin_events,
        role_checks,
        error_bodies,
        password_grant_errors,
        oidc_discovery,
        oidc_login_page,
        oidc_code_pkce,
        oidc_id_token_claims,
        oidc_refresh,
        oidc_end_session,
    )
}

# The findings checks' reads live in a module of their own (this one is long enough).
from .scenarios_events import EVENT_SCENARIOS  # noqa: E402

SCENARIOS.update(EVENT_SCENARIOS)
# The device grant and the audience mapper (the command line's needs) live in their own module;
# it imports this one's helpers, so it is read once they are all defined.
from .scenarios_device import DEVICE_SCENARIOS  # noqa: E402

SCENARIOS.update({f.__name__: f for f in DEVICE_SCENARIOS})
