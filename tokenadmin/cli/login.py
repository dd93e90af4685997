"""Signing in with Keycloak's device grant (RFC 8628), keeping the token fresh, signing out."""

import time
from collections.abc import Callable
from typing import Any

from .credentials import Credentials, credentials_delete, credentials_load, credentials_save
from .errors import BAD_INPUT, DENIED, UNREACHABLE, CliError
from .http import http_call

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REFRESH_MARGIN_S = 30


def server_config(server: str) -> dict[str, str]:
    """Where Keycloak is and which client signs in, as the tokenadmin server says (/cli.json)."""
    answer = http_call("GET", f"{server}/cli.json")
    config = answer.json()
    if answer.status != 200 or not isinstance(config, dict) or "keycloak_url" not in config:
        raise CliError(
            f"{server} does not look like a tokenadmin server (GET /cli.json: {answer.status}).",
            BAD_INPUT,
        )
    return config


def _oidc(keycloak_url: str, realm: str, endpoint: str) -> str:
    return f"{keycloak_url}/realms/{realm}/protocol/openid-connect/{endpoint}"


def _device_start(keycloak_url: str, realm: str, client_id: str) -> dict[str, Any]:
    answer = http_call(
        "POST",
        _oidc(keycloak_url, realm, "auth/device"),
        form={"client_id": client_id, "scope": "openid"},
    )
    body = answer.json()
    if answer.status != 200 or not isinstance(body, dict):
        error = body.get("error_description") if isinstance(body, dict) else answer.status
        raise CliError(f"Keycloak refused to start the sign-in: {error}.", DENIED)
    return body


def _poll(
    keycloak_url: str,
    realm: str,
    client_id: str,
    start: dict[str, Any],
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll the token endpoint as RFC 8628 says: every `interval`, 5 s more on slow_down."""
    interval = float(start.get("interval") or 5)
    deadline = time.monotonic() + float(start.get("expires_in") or 600)
    form = {"grant_type": DEVICE_GRANT, "client_id": client_id, "device_code": start["device_code"]}
    while time.monotonic() < deadline:
        sleep(interval)
        answer = http_call("POST", _oidc(keycloak_url, realm, "token"), form=form)
        body = answer.json() or {}
        if answer.status == 200:
            return body
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        if error == "access_denied":
            raise CliError("Sign-in denied in the browser.", DENIED)
        if error == "expired_token":
            break
        raise CliError(f"Sign-in failed: {body.get('error_description') or error}.", DENIED)
    raise CliError("The code expired before it was approved: run `tokenadmin login` again.", DENIED)


def _credentials_of(
    tokens: dict[str, Any], *, server: str, keycloak_url: str, realm: str, client_id: str
) -> Credentials:
    now = time.time()
    refresh_in = int(tokens.get("refresh_expires_in") or 0)
    return Credentials(
        server=server,
        keycloak_url=keycloak_url,
        realm=realm,
        client_id=client_id,
        access_token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token", ""),
        expires_at=now + int(tokens.get("expires_in") or 60),
        refresh_expires_at=now + refresh_in if refresh_in else 0,
    )


def login_device(server: str, realm: str | None, out: Callable[[str], None]) -> Credentials:
    """The whole sign-in: ask the server where Keycloak is, show the code, wait, save."""
    config = server_config(server)
    keycloak_url = config["keycloak_url"].rstrip("/")
    realm = realm or config.get("realm") or "master"
    client_id = config.get("client_id") or "tokenadmin-cli"
    start = _device_start(keycloak_url, realm, client_id)
    out(f"Open {start['verification_uri']} and enter the code {start['user_code']}")
    if start.get("verification_uri_complete"):
        out(f"(or open {start['verification_uri_complete']})")
    out("Waiting for approval...")
    tokens = _poll(keycloak_url, realm, client_id, start)
    credentials = _credentials_of(
        tokens, server=server, keycloak_url=keycloak_url, realm=realm, client_id=client_id
    )
    credentials_save(credentials)
    return credentials


def credentials_fresh(credentials: Credentials, *, force: bool = False) -> Credentials:
    """The credentials with an access token good for a while: refreshed (and saved) if not."""
    if not force and credentials.expires_at - REFRESH_MARGIN_S > time.time():
        return credentials
    if not credentials.refresh_token:
        raise CliError("Your sign-in has expired: run `tokenadmin login`.", DENIED)
    answer = http_call(
        "POST",
        _oidc(credentials.keycloak_url, credentials.realm, "token"),
        form={
            "grant_type": "refresh_token",
            "client_id": credentials.client_id,
            "refresh_token": credentials.refresh_token,
        },
    )
    if answer.status >= 500:
        raise CliError(f"Keycloak answered HTTP {answer.status}.", UNREACHABLE)
    if answer.status != 200:
        raise CliError("Your sign-in has expired: run `tokenadmin login`.", DENIED)
    fresh = _credentials_of(
        answer.json(),
        server=credentials.server,
        keycloak_url=credentials.keycloak_url,
        realm=credentials.realm,
        client_id=credentials.client_id,
    )
    credentials_save(fresh)
    return fresh


def logout() -> str:
    """End the Keycloak session the cached tokens belong to, and forget them."""
    try:
        credentials = credentials_load()
    except CliError:
        return "Not signed in."
    note = "Signed out."
    try:
        answer = http_call(
            "POST",
            _oidc(credentials.keycloak_url, credentials.realm, "logout"),
            form={"client_id": credentials.client_id, "refresh_token": credentials.refresh_token},
        )
        if answer.status not in (200, 204):
            note = "Signed out here (Keycloak had already ended the session)."
    except CliError:
        note = "Signed out here; Keycloak could not be reached to end the session."
    credentials_delete()
    return note
