"""Calls the emulator makes to clients, caught by a tiny HTTP receiver in the test: back-channel
logout tokens to ``backchannel.logout.url``, admin actions (push-not-before, logout-all) to
``adminUrl``."""

from __future__ import annotations

import http.server
import json
import queue
import threading
import time
from urllib.parse import parse_qs

import pytest
import requests
from jwcrypto import jwk, jws

from tests.fixtures.emulator import _free_port

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class Receiver:
    """An http.server thread on a free loopback port; every POST lands in a queue."""

    def __init__(self, status: int = 200, delay_s: float = 0.0) -> None:
        self.requests: queue.Queue[tuple[str, str, bytes]] = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if delay_s:
                    time.sleep(delay_s)
                outer.requests.put((self.path, self.headers.get("Content-Type", ""), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def get(self, timeout: float = 5.0) -> tuple[str, str, bytes]:
        return self.requests.get(timeout=timeout)

    def drain(self, count: int) -> list[tuple[str, str, bytes]]:
        return [self.get() for _ in range(count)]

    def assert_quiet(self, seconds: float = 0.5) -> None:
        with pytest.raises(queue.Empty):
            self.requests.get(timeout=seconds)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def _set_client(admin, client_id: str, **changes) -> str:
    uuid = admin.get_client_id(client_id)
    rep = admin.get_client(uuid)
    attributes = {**(rep.get("attributes") or {}), **changes.pop("attributes", {})}
    admin.update_client(uuid, {**rep, **changes, "attributes": attributes})
    return uuid


def _verified(kc, realm: str, token: str) -> tuple[dict, dict]:
    certs = requests.get(
        f"{kc.base_url}/realms/{realm}/protocol/openid-connect/certs", timeout=10
    ).text
    keys = jwk.JWKSet.from_json(certs)
    signed = jws.JWS()
    signed.deserialize(token)
    header = signed.jose_header
    signed.verify(keys.get_key(header["kid"]))
    return header, json.loads(signed.payload)


def _logout_token(kc, realm: str, request: tuple[str, str, bytes]) -> tuple[dict, dict]:
    path, content_type, body = request
    assert path == "/backchannel"
    assert content_type == "application/x-www-form-urlencoded"
    form = parse_qs(body.decode())
    assert list(form) == ["logout_token"]
    return _verified(kc, realm, form["logout_token"][0])


def _mlflow_with_backchannel(kc, receiver):
    admin = kc.admin(realm_name="mlflow")
    _set_client(
        admin, "mlflow", attributes={"backchannel.logout.url": receiver.url + "/backchannel"}
    )
    return admin


def test_deleting_a_session_posts_a_signed_logout_token(kc, receiver):
    admin = _mlflow_with_backchannel(kc, receiver)
    tokens = kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", "mlflow-secret")
    sid = tokens["session_state"]
    admin.connection.raw_delete(f"admin/realms/mlflow/sessions/{sid}")
    header, claims = _logout_token(kc, "mlflow", receiver.get())
    assert header["alg"] == "RS256" and header["typ"] == "logout+jwt" and header["kid"]
    now = kc.now()
    assert claims["typ"] == "Logout"
    assert claims["events"] == {LOGOUT_EVENT: {}}
    assert claims["sid"] == sid
    assert claims["sub"] == admin.get_user_id("mlflow_user")
    assert claims["iss"] == f"{kc.base_url}/realms/mlflow"
    assert claims["aud"] == "mlflow"
    assert abs(claims["iat"] - now) <= 5 and claims["exp"] == claims["iat"] + 120
    assert claims["jti"]
    assert "nonce" not in claims
    receiver.assert_quiet(0.3)


def test_user_logout_sends_one_token_per_online_session(kc, receiver):
    admin = _mlflow_with_backchannel(kc, receiver)
    user_id = admin.get_user_id("mlflow_user")
    online = {s["id"] for s in admin.get_sessions(user_id)}
    assert len(online) == 2  # the seeded ones
    admin.user_logout(user_id)
    sids = {_logout_token(kc, "mlflow", r)[1]["sid"] for r in receiver.drain(len(online))}
    assert sids == online
    receiver.assert_quiet(0.3)


def test_token_logout_and_end_session_send_logout_tokens(kc, receiver):
    _mlflow_with_backchannel(kc, receiver)
    openid = kc.openid("mlflow", "mlflow", "mlflow-secret")
    first = openid.token("mlflow_user", "mlflow_user", scope="openid")
    openid.logout(first["refresh_token"])
    assert _logout_token(kc, "mlflow", receiver.get())[1]["sid"] == first["session_state"]

    second = openid.token("mlflow_user", "mlflow_user", scope="openid")
    page = requests.get(
        f"{kc.base_url}/realms/mlflow/protocol/openid-connect/logout",
        params={"id_token_hint": second["id_token"]},
        timeout=10,
    )
    assert page.status_code == 200
    assert _logout_token(kc, "mlflow", receiver.get())[1]["sid"] == second["session_state"]


def test_session_required_off_drops_sid_and_clients_without_url_get_nothing(kc, receiver):
    admin = kc.admin(realm_name="mlflow")
    _set_client(
        admin,
        "mlflow",
        attributes={
            "backchannel.logout.url": receiver.url + "/backchannel",
            "backchannel.logout.session.required": "false",
            "backchannel.logout.revoke.offline.tokens": "true",
        },
    )
    tokens = kc.password_login("mlflow", "mlflow", "mlflow_user", "mlflow_user", "mlflow-secret")
    admin.connection.raw_delete(f"admin/realms/mlflow/sessions/{tokens['session_state']}")
    _, claims = _logout_token(kc, "mlflow", receiver.get())
    assert "sid" not in claims
    assert claims["events"] == {LOGOUT_EVENT: {}, "revoke_offline_access": True}


def test_logout_all_and_revoke_send_no_logout_token(kc, receiver):
    admin = _mlflow_with_backchannel(kc, receiver)
    openid = kc.openid("mlflow", "mlflow", "mlflow-secret")
    tokens = openid.token("mlflow_user", "mlflow_user", scope="openid")
    revoked = openid.connection.raw_post(
        "realms/mlflow/protocol/openid-connect/revoke",
        data={
            "token": tokens["refresh_token"],
            "client_id": "mlflow",
            "client_secret": "mlflow-secret",
        },
    )
    assert revoked.status_code == 200
    # Keycloak's TokenRevocationEndpoint detaches the client from all the user's sessions
    # without a back-channel logout.
    assert admin.get_sessions(admin.get_user_id("mlflow_user")) == []
    result = admin.connection.raw_post("admin/realms/mlflow/logout-all", data="")
    assert (result.status_code, result.json()) == (200, {})
    receiver.assert_quiet(0.5)


def test_a_dead_or_slow_backchannel_url_never_slows_or_fails_the_admin_call(kc):
    slow = Receiver(delay_s=8)  # longer than the emulator's 3 s timeout
    try:
        admin = kc.admin(realm_name="mlflow")
        _set_client(admin, "mlflow", attributes={"backchannel.logout.url": slow.url + "/bc"})
        user_id = admin.get_user_id("mlflow_user")
        started = time.monotonic()
        admin.user_logout(user_id)
        assert time.monotonic() - started < 3  # generous: other test runs share the CPU
        _set_client(
            admin,
            "mlflow",
            attributes={"backchannel.logout.url": f"http://127.0.0.1:{_free_port()}/gone"},
        )
        tokens = kc.password_login(
            "mlflow", "mlflow", "mlflow_user", "mlflow_user", "mlflow-secret"
        )
        deleted = admin.connection.raw_delete(
            f"admin/realms/mlflow/sessions/{tokens['session_state']}"
        )
        assert deleted.status_code == 204
    finally:
        slow.close()


def _admin_action(kc, realm: str, request: tuple[str, str, bytes], path: str) -> dict:
    got_path, content_type, body = request
    assert got_path == path
    assert content_type.startswith("text/plain")
    header, claims = _verified(kc, realm, body.decode())
    assert header["typ"] == "JWT"
    return claims


def test_push_revocation_posts_push_not_before_to_admin_urls(kc, receiver):
    admin = kc.admin(realm_name="mlflow")
    good = receiver.url + "/app"
    dead = f"http://127.0.0.1:{_free_port()}/gone"
    _set_client(admin, "mlflow", adminUrl=good)
    _set_client(admin, "account", adminUrl=dead)
    not_before = kc.now() - 10
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "notBefore": not_before})

    result = admin.connection.raw_post("admin/realms/mlflow/push-revocation", data="")
    assert result.status_code == 200
    assert result.json() == {"successRequests": [good], "failedRequests": [dead]}
    claims = _admin_action(kc, "mlflow", receiver.get(), "/app/k_push_not_before")
    assert set(claims) == {"id", "expiration", "resource", "action", "notBefore"}
    assert claims["action"] == "PUSH_NOT_BEFORE"
    assert claims["resource"] == "mlflow"
    assert claims["notBefore"] == not_before
    assert abs(claims["expiration"] - (kc.now() + 30)) <= 5

    uuid = admin.get_client_id("mlflow")
    result = admin.connection.raw_post(
        f"admin/realms/mlflow/clients/{uuid}/push-revocation", data=""
    )
    assert result.json() == {"successRequests": [good]}
    claims = _admin_action(kc, "mlflow", receiver.get(), "/app/k_push_not_before")
    # The client's own notBefore is pushed as it is: push-revocation does not set it.
    assert claims["notBefore"] == 0
    assert admin.get_client(uuid).get("notBefore", 0) == 0
    receiver.assert_quiet(0.3)


def test_push_revocation_without_admin_urls_answers_an_empty_result(kc):
    admin = kc.admin(realm_name="mlflow")
    result = admin.connection.raw_post("admin/realms/mlflow/push-revocation", data="")
    assert (result.status_code, result.json()) == (200, {})


def test_logout_all_posts_a_logout_action_to_admin_urls(kc, receiver):
    admin = kc.admin(realm_name="mlflow")
    _set_client(admin, "mlflow", adminUrl=receiver.url + "/app/")
    result = admin.connection.raw_post("admin/realms/mlflow/logout-all", data="")
    assert result.json() == {"successRequests": [receiver.url + "/app/"]}
    claims = _admin_action(kc, "mlflow", receiver.get(), "/app/k_logout")
    assert claims["action"] == "LOGOUT"
    assert claims["resource"] == "mlflow"
    assert claims["notBefore"] == admin.get_realm("mlflow")["notBefore"]
