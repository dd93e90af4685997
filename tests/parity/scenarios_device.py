"""Parity scenarios for the command line's needs: the device authorization grant (RFC 8628)
and the audience mapper, run the same way on the emulator and on real Keycloak.

Registered in scenarios.SCENARIOS (at the bottom of scenarios.py).
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from .scenarios import (
    TIMEOUT_S,
    Target,
    _cookies_over_http,
    _form_action,
    _ok,
    answer,
    jwt_parts,
    kind,
    login,
    realm_make,
)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_ATTR = "oauth2.device.authorization.grant.enabled"
AUDIENCE_MAPPER = {
    "name": "audience app",
    "protocol": "openid-connect",
    "protocolMapper": "oidc-audience-mapper",
    "config": {
        "included.client.audience": "app",
        "access.token.claim": "true",
        "id.token.claim": "false",
    },
}


def _tv_client(t: Target, realm: str) -> str:
    """A public client with the device grant on (as tokenadmin-cli): its uuid."""
    rep = {
        "clientId": "tv",
        "publicClient": True,
        "standardFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "attributes": {DEVICE_ATTR: "true"},
    }
    created = _ok(t.admin("POST", f"/{realm}/clients", json=rep), 201)
    return created.headers["Location"].rsplit("/", 1)[1]


def _start(t: Target, realm: str, client_id: str) -> requests.Response:
    return requests.post(
        t.oidc_url(realm, "auth/device"),
        data={"client_id": client_id, "scope": "openid"},
        timeout=TIMEOUT_S,
    )


def _poll(t: Target, realm: str, client_id: str, device_code: str | None) -> requests.Response:
    return t.token(realm, client_id, grant_type=DEVICE_GRANT, device_code=device_code)


def _inputs(page: requests.Response) -> list[str]:
    """The names of a page's inputs and buttons."""
    return sorted(set(re.findall(r'<(?:input|button)[^>]*name="([^"]+)"', page.text)))


def _hidden(page: requests.Response) -> dict[str, str]:
    """The hidden inputs a browser sends back with the form."""
    tags = re.findall(r'<input[^>]*type="hidden"[^>]*>', page.text)
    pairs = [(re.search(r'name="([^"]*)"', t), re.search(r'value="([^"]*)"', t)) for t in tags]
    return {n.group(1): html.unescape(v.group(1)) for n, v in pairs if n and v}


def _post(browser: requests.Session, page: requests.Response, data: dict) -> requests.Response:
    # Keycloak's device page posts to a relative action.
    action = urljoin(page.url, _form_action(page))
    posted = browser.post(action, data=data, allow_redirects=False, timeout=TIMEOUT_S)
    _cookies_over_http(browser)
    return posted


def _enter_code(t: Target, realm: str, user_code: str) -> tuple[requests.Session, Any]:
    """A fresh browser at the verification page, the user code typed in. Keycloak routes a
    POST to /realms/R/device by its Accept header (JSON: a device request needing client
    authentication; HTML: the user code), so this browser asks for HTML as browsers do."""
    browser = requests.Session()
    browser.headers["Accept"] = "text/html,application/xhtml+xml"
    page = browser.get(f"{t.base_url}/realms/{realm}/device", timeout=TIMEOUT_S)
    _cookies_over_http(browser)
    action = urljoin(page.url, _form_action(page))
    posted = _post(browser, page, {"device_user_code": user_code})
    if posted.is_redirect:  # Keycloak: on to the login page, its cookies over http first
        posted = browser.get(urljoin(action, posted.headers["Location"]), timeout=TIMEOUT_S)
        _cookies_over_http(browser)
    return browser, posted


def device_authorization(t: Target, realm: str) -> dict[str, Any]:
    """The device authorization endpoint and the token endpoint's answers before approval:
    pending, slow down, unknown code, missing code, a client without the grant."""
    realm_make(t, realm)
    _tv_client(t, realm)
    started = _start(t, realm, "tv")
    body = started.json()
    code = body.get("user_code", "")
    uri = body.get("verification_uri", "")
    pending = _poll(t, realm, "tv", body.get("device_code"))
    too_soon = _poll(t, realm, "tv", body.get("device_code"))
    return {
        "status": started.status_code,
        "keys": sorted(body),
        "kinds": {k: kind(v) for k, v in sorted(body.items())},
        "user code looks like": bool(re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", code)),
        "verification_uri": uri.removeprefix(t.base_url),
        "complete uri is uri + code": body.get("verification_uri_complete")
        == f"{uri}?user_code={code}",
        "expires_in": body.get("expires_in"),
        "interval": body.get("interval"),
        "first poll": answer(pending),
        "poll again at once": answer(too_soon),
        "unknown device code": answer(_poll(t, realm, "tv", "nope")),
        "no device code": answer(_poll(t, realm, "tv", None)),
        "client without the grant, start": answer(_start(t, realm, "spa")),
        "client without the grant, poll": answer(_poll(t, realm, "spa", body.get("device_code"))),
        "unknown client": answer(_start(t, realm, "nope")),
    }


def _login_actions(browser: requests.Session, page: requests.Response) -> requests.Response:
    """Follow Keycloak's redirects between its own login steps (the consent page is
    login-actions/required-action?execution=OAUTH_GRANT), not the final one."""
    while page.is_redirect and "/login-actions/" in page.headers["Location"]:
        page = browser.get(
            urljoin(page.url, page.headers["Location"]), allow_redirects=False, timeout=TIMEOUT_S
        )
        _cookies_over_http(browser)
    return page


def _sign_in_and_choose(
    t: Target, realm: str, user_code: str, user: str, choice: dict[str, str]
) -> dict[str, Any]:
    browser, page = _enter_code(t, realm, user_code)
    login_inputs = _inputs(page)
    page = _login_actions(
        browser, _post(browser, page, {"username": user, "password": f"{user}-pw"})
    )
    consent_inputs = _inputs(page)
    done = _post(browser, page, {**_hidden(page), **choice}) if "accept" in consent_inputs else page
    done = _login_actions(browser, done)
    location = done.headers.get("Location", "")
    status_page = browser.get(urljoin(done.url, location), timeout=TIMEOUT_S) if location else done
    return {
        "code page shows the login form": {"username", "password"} <= set(login_inputs),
        "consent page inputs": sorted(set(consent_inputs) & {"accept", "cancel", "code"}),
        "after the choice": done.status_code,
        "goes to": urlsplit(location).path.removeprefix(f"/realms/{realm}"),
        "with": sorted(parse_qs(urlsplit(location).query).items()),
        "status page": status_page.status_code,
    }


def device_approval(t: Target, realm: str) -> dict[str, Any]:
    """The user's side: a wrong code, sign-in and consent (granted, denied, granted before),
    then what the device's poll gets, the tokens and the session."""
    ids = realm_make(t, realm, users=("alice", "bob"))
    _tv_client(t, realm)
    _, wrong = _enter_code(t, realm, "BCDF-GHJK")
    denied_start = _start(t, realm, "tv").json()
    denied = _sign_in_and_choose(t, realm, denied_start["user_code"], "bob", {"cancel": "No"})
    granted_start = _start(t, realm, "tv").json()
    granted = _sign_in_and_choose(t, realm, granted_start["user_code"], "alice", {"accept": "Yes"})
    tokens = _poll(t, realm, "tv", granted_start["device_code"])
    again = _poll(t, realm, "tv", granted_start["device_code"])
    second_start = _start(t, realm, "tv").json()
    second = _sign_in_and_choose(t, realm, second_start["user_code"], "alice", {"accept": "Yes"})
    sessions = _ok(t.admin("GET", f"/{realm}/users/{ids['alice']}/sessions"), 200).json()
    consents = _ok(t.admin("GET", f"/{realm}/users/{ids['alice']}/consents"), 200).json()
    claims = jwt_parts(tokens.json()["access_token"])[1] if tokens.status_code == 200 else {}
    return {
        "wrong code": {"status": wrong.status_code, "says": "Invalid code" in wrong.text},
        "denied": denied,
        "poll after denial": answer(_poll(t, realm, "tv", denied_start["device_code"])),
        "granted": granted,
        "poll after grant": tokens.status_code,
        "token keys": sorted(tokens.json()) if tokens.status_code == 200 else tokens.json(),
        "access token": {k: claims.get(k) for k in ("typ", "azp")},
        "access token scope": sorted(str(claims.get("scope", "")).split()),
        "access token has sid": "sid" in claims,
        "poll again": answer(again),
        "second sign-in": second,
        "alice's sessions": [sorted(s["clients"].values()) for s in sessions],
        "alice's consents": sorted(c["clientId"] for c in consents),
    }


def audience_mapper(t: Target, realm: str) -> dict[str, Any]:
    """A client's audience mapper (how a CLI's or a service account's tokens get tokenadmin's
    audience): created with the client or added later, in password and client-credentials
    tokens; the client representation lists its mappers."""
    realm_make(t, realm)
    rep = {
        "clientId": "bot",
        "secret": "bot-secret",
        "serviceAccountsEnabled": True,
        "directAccessGrantsEnabled": True,
        "protocolMappers": [AUDIENCE_MAPPER],
    }
    uuid = _ok(t.admin("POST", f"/{realm}/clients", json=rep), 201).headers["Location"]
    uuid = uuid.rsplit("/", 1)[1]

    def aud(**form: Any) -> Any:
        body = _ok(t.token(realm, "bot", client_secret="bot-secret", **form), 200).json()
        return jwt_parts(body["access_token"])[1].get("aud")

    before_cc = aud(grant_type="client_credentials")
    before_pw = aud(username="alice", password="alice-pw")
    second = {**AUDIENCE_MAPPER, "name": "audience custom"}
    second["config"] = {
        "included.custom.audience": "https://api.example",
        "access.token.claim": "true",
    }
    added = t.admin("POST", f"/{realm}/clients/{uuid}/protocol-mappers/models", json=second)
    client = _ok(t.admin("GET", f"/{realm}/clients/{uuid}"), 200).json()
    mappers = _ok(t.admin("GET", f"/{realm}/clients/{uuid}/protocol-mappers/models"), 200).json()
    app_tokens = login(t, realm, "alice")
    return {
        "client credentials aud": before_cc,
        "password aud": before_pw,
        "add a mapper": added.status_code,
        # Two audience mappers share one priority; Keycloak's order between them is not fixed
        # (seen both ways on 26.7.3), and the API only asks whether tokenadmin is in aud.
        "after adding": sorted(aud(grant_type="client_credentials")),
        "client lists": sorted((m["name"], sorted(m)) for m in client.get("protocolMappers", [])),
        "mappers listed": sorted(m["name"] for m in mappers),
        "another client's token": jwt_parts(app_tokens["access_token"])[1].get("aud"),
    }


DEVICE_SCENARIOS = (device_authorization, device_approval, audience_mapper)
