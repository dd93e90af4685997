"""/api/v1/ with bearer tokens from real Keycloak 26, set up by bootstrap-master.sh: a CI
script's service account (client credentials) and a person signed in to the command line's
client (device flow) are accepted, and the Keycloak calls made for them carry their token, so
Keycloak's admin events name them; tokens not meant for tokenadmin, expired or signed by
another key are refused with 401."""

import base64
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from tokenadmin.sessionindex.models import RealmIndex
from tokenadmin.sessionindex.refresh import realm_index_refresh

from .conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    CI_CLIENT,
    REALKC_TIMEOUT_S,
    ci_client_create,
)

pytestmark = pytest.mark.timeout(REALKC_TIMEOUT_S)

API = "/api/v1"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _token(realkc, **data) -> dict:
    answer = requests.post(
        f"{realkc.keycloak.base_url}/realms/master/protocol/openid-connect/token",
        data=data,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _client_credentials(realkc, client_id: str, secret: str) -> str:
    token = _token(
        realkc, grant_type="client_credentials", client_id=client_id, client_secret=secret
    )
    return token["access_token"]


def _bearer(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def _master(realkc, method: str, path: str, **kwargs) -> requests.Response:
    return realkc.keycloak.admin_api(method, f"/admin/realms/master{path}", **kwargs)


def _client_uuid(realkc, client_id: str) -> str:
    (client,) = _master(realkc, "GET", "/clients", params={"clientId": client_id}).json()
    return client["id"]


def _service_account_id(realkc, client_id: str) -> str:
    path = f"/clients/{_client_uuid(realkc, client_id)}/service-account-user"
    return _master(realkc, "GET", path).json()["id"]


def _grant(realkc, user_id: str, realm: str, roles: list[str]) -> None:
    """Roles on the realm's management client in master (what tokenadmin reads as rights)."""
    management = _client_uuid(realkc, f"{realm}-realm")
    found = [_master(realkc, "GET", f"/clients/{management}/roles/{r}").json() for r in roles]
    answer = _master(
        realkc, "POST", f"/users/{user_id}/role-mappings/clients/{management}", json=found
    )
    assert answer.status_code == 204, answer.text


@pytest.fixture(scope="module")
def ci_operator(realkc) -> str:
    """The CI service account may view and revoke sessions of the test realm (and nothing in
    master); admin events are on for the realm."""
    _grant(realkc, _service_account_id(realkc, CI_CLIENT), realkc.realm, ["manage-users"])
    answer = realkc.keycloak.admin_api(
        "PUT", f"/admin/realms/{realkc.realm}", json={"adminEventsEnabled": True}
    )
    assert answer.status_code == 204, answer.text
    return realkc.realm


def _user_with_sessions(realkc, count: int) -> tuple[str, list[str]]:
    """A fresh user of the test realm with `count` sessions, the index refreshed."""
    username = f"api-{uuid.uuid4().hex[:8]}"
    realkc.user_create(realkc.realm, username, "api-user-password")
    made = realkc.sessions_make(realkc.realm, username, "api-user-password", count)
    index = realm_index_refresh(realm=realkc.realm)
    assert index.state == RealmIndex.State.DONE, index.error
    return username, made


def _plan_then_apply(client: Client, realm: str, sessions: list[str]) -> dict:
    plan = client.post(
        f"{API}/revocation/realms/{realm}/plans",
        json.dumps({"kind": "selection", "sessions": sessions}),
        content_type="application/json",
    )
    assert plan.status_code == 200, plan.content
    assert plan.json()["count"] == len(sessions)
    applied = client.post(
        f"{API}/revocation/realms/{realm}/plans/apply",
        json.dumps({"plan_id": plan.json()["plan_id"], "reason": "off-boarding"}),
        content_type="application/json",
    )
    assert applied.status_code == 202, applied.content
    return applied.json()


def _session_deletions(realkc, realm: str, sessions: list[str]) -> list[dict]:
    """Keycloak's admin events of the realm that deleted one of `sessions`."""
    answer = realkc.keycloak.admin_api(
        "GET", f"/admin/realms/{realm}/admin-events", params={"max": 500}
    )
    answer.raise_for_status()
    return [
        e
        for e in answer.json()
        if e["operationType"] == "DELETE"
        and any(e.get("resourcePath", "").endswith(s) for s in sessions)
    ]


def test_a_ci_service_account_lists_and_revokes_and_keycloak_names_it(realkc, ci_operator, db):
    token = _client_credentials(realkc, CI_CLIENT, realkc.secrets.ci)
    assert "tokenadmin" in _claims(token)["aud"]  # the bootstrap's audience scope
    client = _bearer(token)
    username, made = _user_with_sessions(realkc, 2)

    listed = client.get(f"{API}/realms/{ci_operator}/sessions", {"q": username})
    master = client.get(f"{API}/realms/master/sessions")
    job = _plan_then_apply(client, ci_operator, made)

    assert listed.status_code == 200, listed.content
    assert {s["session_id"] for s in listed.json()["items"]} == set(made)
    assert master.status_code == 403  # no role on master: tokenadmin refuses before Keycloak
    assert job["state"] == "done" and job["done"] == 2
    assert realkc.user_session_ids(ci_operator, username) == set()
    events = _session_deletions(realkc, ci_operator, made)
    assert len(events) == 2
    account = _service_account_id(realkc, CI_CLIENT)
    for event in events:
        # Keycloak names the client by its internal id, the user by theirs.
        assert event["authDetails"]["clientId"] == _client_uuid(realkc, CI_CLIENT)
        assert event["authDetails"]["userId"] == account


def _device_flow_token(realkc, page, username: str, password: str) -> dict:
    """The command line's sign-in: a device code, the person approves in a browser, the
    token endpoint hands the token to the device."""
    base = f"{realkc.keycloak.base_url}/realms/master/protocol/openid-connect"
    device = requests.post(f"{base}/auth/device", data={"client_id": "tokenadmin-cli"}, timeout=30)
    assert device.status_code == 200, device.text
    page.goto(device.json()["verification_uri_complete"])
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    page.click("#kc-login")  # "Do you grant these access privileges?" Yes
    page.get_by_text("Device Login Successful").wait_for()
    return _token(
        realkc,
        grant_type=DEVICE_GRANT,
        client_id="tokenadmin-cli",
        device_code=device.json()["device_code"],
    )


def test_a_person_signed_in_with_the_device_flow_is_accepted_and_named(
    realkc, ci_operator, page, db
):
    token = _device_flow_token(realkc, page, ADMIN_USERNAME, ADMIN_PASSWORD)
    claims = _claims(token["access_token"])
    assert claims["azp"] == "tokenadmin-cli" and "tokenadmin" in claims["aud"]
    client = _bearer(token["access_token"])
    username, made = _user_with_sessions(realkc, 1)

    realms = client.get(f"{API}/realms")
    job = _plan_then_apply(client, ci_operator, made)

    assert realms.status_code == 200, realms.content
    assert realkc.realm in {r["name"] for r in realms.json()}
    assert job["done"] == 1
    assert realkc.user_session_ids(ci_operator, username) == set()
    (event,) = _session_deletions(realkc, ci_operator, made)
    assert event["authDetails"]["clientId"] == _client_uuid(realkc, "tokenadmin-cli")
    assert event["authDetails"]["userId"] == realkc.user_id("master", ADMIN_USERNAME)


def _refused(token: str) -> str:
    response = _bearer(token).get(f"{API}/realms")
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()["detail"]


def test_tokens_not_meant_for_tokenadmin_are_401(realkc, db):
    # admin-cli's and the worker's tokens are real and valid, but not for tokenadmin's API.
    admin_cli = _token(
        realkc,
        grant_type="password",
        client_id="admin-cli",
        username=ADMIN_USERNAME,
        password=ADMIN_PASSWORD,
    )["access_token"]
    worker = _client_credentials(realkc, "tokenadmin-worker", realkc.secrets.worker)

    _refused(admin_cli)  # Keycloak 26's lightweight admin-cli token: no audience, not even sub
    assert "not meant for tokenadmin (audience)" in _refused(worker)


def test_an_expired_or_foreign_signed_token_is_401(realkc, db, monkeypatch):
    # A script's client whose tokens live 1 s, with the API's audience scope.
    client_id, secret = f"short-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    uuid_ = ci_client_create(realkc.keycloak, client_id, secret, **{"access.token.lifespan": "1"})
    scopes = _master(realkc, "GET", "/client-scopes").json()
    (scope,) = [s["id"] for s in scopes if s["name"] == "tokenadmin-api"]
    attached = _master(realkc, "PUT", f"/clients/{uuid_}/default-client-scopes/{scope}")
    assert attached.status_code == 204, attached.text
    token = _client_credentials(realkc, client_id, secret)
    # The same claims and key id, signed by a key Keycloak never published.
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(token)["kid"]
    forged = jwt.encode(_claims(token), foreign_key, algorithm="RS256", headers={"kid": kid})

    assert "invalid (InvalidSignatureError)" in _refused(forged)
    monkeypatch.setattr("tokenadmin.keycloak.oidc.ACCESS_TOKEN_LEEWAY_S", 0)
    time.sleep(2.1)
    assert "expired" in _refused(token)
