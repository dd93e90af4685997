"""`manage.py demo --keycloak real`: the emulator's demo on real Keycloak, and its seeding.

The demo starts its own fresh Keycloak (it configures realm master, which the shared
`real_keycloak` of the test run must not get); the seeding's sign-ins are also checked on the
shared one, in a realm of their own.
"""

from __future__ import annotations

import html
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tokenadmin.devstack.keycloak_admin import (
    AdminApi,
    bulk_users_create,
    client_upsert,
    realm_upsert,
)
from tokenadmin.devstack.keycloak_seed import MLFLOW_CLIENT
from tokenadmin.devstack.keycloak_signins import FORM_ACTION, SignIn, sign_ins_make
from tokenadmin.emulator.seed import OPERATOR_ROLES, WORKER_ROLES

from .demo_process import demo_ports, demo_process_start

# Keycloak boots in 20-80 s on a busy machine, then the seeding and the rest of the stack.
pytestmark = [pytest.mark.real_keycloak, pytest.mark.timeout(900)]
DEMO_START_TIMEOUT_S = 600
DEMO_SESSIONS = 40
NAMED_SESSIONS = 8  # seed_demo's hand-made sessions, made again by real sign-ins
BUILTIN_CLIENTS = {
    "account",
    "account-console",
    "admin-cli",
    "broker",
    "realm-management",
    "security-admin-console",
}


@dataclass
class Demo:
    dashboard_url: str
    keycloak_url: str
    output_path: Path

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    work = tmp_path_factory.mktemp("demo-real")
    ports = demo_ports()
    output_path = work / "demo.out"
    with output_path.open("wb") as output:
        process = demo_process_start(
            work=work,
            ports=ports,
            output=output,
            # --no-traffic: these tests count exactly the sessions the seed made.
            args=["--keycloak", "real", "--no-traffic", "--sessions", str(DEMO_SESSIONS)],
        )
        running = Demo(
            dashboard_url=f"http://127.0.0.1:{ports['web']}",
            keycloak_url=f"http://127.0.0.1:{ports['keycloak']}",
            output_path=output_path,
        )
        try:
            deadline = time.monotonic() + DEMO_START_TIMEOUT_S
            while "tokenadmin is running" not in running.output():
                if process.poll() is not None or time.monotonic() > deadline:
                    said = running.output()
                    pytest.fail(f"the demo did not start (exit {process.poll()}):\n{said}")
                time.sleep(1)
            yield running
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # the demo stops what it started, by pid
                try:
                    process.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def demo_state(admin: AdminApi) -> dict:
    """What the demo seed decides, read back the same way from the emulator and real Keycloak."""
    state: dict = {"realms": sorted(r["realm"] for r in admin.get(""))}
    for realm in ("master", "mlflow"):
        state[f"{realm} rememberMe"] = admin.get(f"/{realm}")["rememberMe"]
        state[f"{realm} users"] = sorted(
            u["username"]
            for u in admin.get(f"/{realm}/users", max=1000)
            if not u["username"].startswith(("user-", "service-account-"))
        )
        for client in admin.get(f"/{realm}/clients"):
            client_id = client["clientId"]
            if client_id in BUILTIN_CLIENTS or client_id.endswith("-realm"):
                continue
            secret = (
                None
                if client["publicClient"]
                else admin.get(f"/{realm}/clients/{client['id']}/client-secret")["value"]
            )
            state[f"{realm} client {client_id}"] = {
                "secret": secret,
                "redirectUris": sorted(client.get("redirectUris", [])),
                "flows": [
                    client[key]
                    for key in (
                        "standardFlowEnabled",
                        "directAccessGrantsEnabled",
                        "serviceAccountsEnabled",
                        "publicClient",
                    )
                ],
                "attributes": {
                    key: client["attributes"].get(key)
                    for key in (
                        "access.token.lifespan",
                        "use.refresh.tokens",
                        "pkce.code.challenge.method",
                        "post.logout.redirect.uris",
                    )
                },
            }
    masters = {
        name: admin.get("/master/users", username=name, exact="true")[0]["id"]
        for name in (
            "admin",
            "operator",
            "viewer",
            "realmviewer",
            "outsider",
            "wallaroo_user",
            "data_scientist",
            "service-account-tokenadmin-worker",
        )
    }
    for username in (
        "operator",
        "viewer",
        "realmviewer",
        "outsider",
        "service-account-tokenadmin-worker",
    ):
        for management in ("mlflow-realm", "master-realm"):
            uuid = admin.get("/master/clients", clientId=management)[0]["id"]
            mapped = admin.get(f"/master/users/{masters[username]}/role-mappings/clients/{uuid}")
            state[f"{username} on {management}"] = sorted(role["name"] for role in mapped)
    for username in ("admin", "wallaroo_user", "data_scientist"):
        realm_roles = admin.get(f"/master/users/{masters[username]}/role-mappings/realm")
        state[f"{username} realm roles"] = sorted(
            name for role in realm_roles if (name := role["name"]) in ("admin", "offline_access")
        )
    ml_admin = admin.get("/mlflow/users", username="mlflow_admin", exact="true")[0]["id"]
    management = admin.get("/mlflow/clients", clientId="realm-management")[0]["id"]
    state["mlflow_admin on realm-management"] = sorted(
        role["name"]
        for role in admin.get(f"/mlflow/users/{ml_admin}/role-mappings/clients/{management}")
    )
    group = admin.get("/mlflow/groups", search="ml-engineers")[0]["id"]
    state["ml-engineers"] = sorted(
        u["username"] for u in admin.get(f"/mlflow/groups/{group}/members")
    )
    return state


def test_the_real_demo_holds_the_emulator_demos_realms_clients_users_and_roles(demo, kc):
    real = demo_state(AdminApi(demo.keycloak_url, "admin", "admin"))
    emulated = demo_state(AdminApi(kc.base_url, "admin", "admin"))
    assert real["realms"] == ["master", "mlflow"]
    assert real["master users"] == [
        "admin",
        "data_scientist",
        "operator",
        "outsider",
        "realmviewer",
        "viewer",
        "wallaroo_user",
    ]
    assert real["operator on mlflow-realm"] == sorted(OPERATOR_ROLES)
    assert real["viewer on mlflow-realm"] == ["view-clients", "view-realm", "view-users"]
    assert real["realmviewer on mlflow-realm"] == ["view-realm"]
    assert real["outsider on mlflow-realm"] == []
    assert real["service-account-tokenadmin-worker on master-realm"] == sorted(WORKER_ROLES)
    assert real["master client tokenadmin"]["secret"] == "tokenadmin-dev-secret"
    # And everything else the demo seed decides, key by key, the same as in the emulator.
    different = {key for key in real.keys() | emulated.keys() if real.get(key) != emulated.get(key)}
    assert not different, {key: (emulated.get(key), real.get(key)) for key in sorted(different)}


def test_the_real_demos_sessions_were_made_by_real_sign_ins(demo):
    admin = AdminApi(demo.keycloak_url, "admin", "admin")
    online = offline = 0
    for realm in ("master", "mlflow"):
        for stats in admin.get(f"/{realm}/client-session-stats"):
            if stats["clientId"] != "admin-cli":  # our own admin sign-ins
                online += int(stats["active"])
                offline += int(stats["offline"])
    # Every sign-in one session (an offline grant makes only the offline one).
    assert online + offline == DEMO_SESSIONS + NAMED_SESSIONS
    assert offline >= 3  # the three named offline ones, and a share of the rest
    user = admin.get("/mlflow/users", username="mlflow_user", exact="true")[0]
    sessions = admin.get(f"/mlflow/users/{user['id']}/sessions")
    # Through the login form, remember-me ticked on one; the address from X-Forwarded-For.
    assert sorted((s["ipAddress"], s["rememberMe"]) for s in sessions) == [
        ("10.0.4.21", False),
        ("192.168.1.77", True),
    ]
    assert "seeded:" in demo.output()


def dashboard_sign_in(demo: Demo, username: str) -> requests.Session:
    """Sign in to the dashboard through real Keycloak's own login page, as a browser would."""
    browser = requests.Session()
    page = browser.get(f"{demo.dashboard_url}/oidc/authenticate/", timeout=60)
    assert page.url.startswith(f"{demo.keycloak_url}/realms/master/protocol/openid-connect/auth")
    action = FORM_ACTION.search(page.text)
    assert action, page.text[:500]
    for cookie in browser.cookies:
        cookie.secure = False  # Keycloak's Secure cookies, which a browser sends to loopback
    posted = browser.post(
        html.unescape(action.group(1)),
        data={"username": username, "password": username, "credentialId": ""},
        allow_redirects=False,
        timeout=60,
    )
    assert posted.status_code == 302, posted.text[:500]
    assert posted.headers["Location"].startswith(f"{demo.dashboard_url}/oidc/callback/")
    browser.get(posted.headers["Location"], timeout=60)
    return browser


def test_an_operator_signs_in_to_the_real_demo_and_sees_mlflows_indexed_sessions(demo):
    browser = dashboard_sign_in(demo, "operator")
    realms = browser.get(f"{demo.dashboard_url}/realms/", timeout=60)
    assert realms.status_code == 200
    assert "mlflow" in realms.text
    # The demo asks the worker to index every realm at start; wait for it to land.
    deadline = time.monotonic() + 120
    while True:
        page = browser.get(f"{demo.dashboard_url}/sessions/mlflow/", timeout=60)
        if "192.168.1.77" in page.text or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert page.status_code == 200
    assert "mlflow_user" in page.text and "192.168.1.77" in page.text
    # 3 named + half of the 40, the live count the freshness line gives.
    assert 'data-testid="freshness-live">23</span> live sessions' in page.text


def test_the_outsider_is_refused_by_the_real_demo(demo):
    browser = dashboard_sign_in(demo, "outsider")
    assert browser.get(f"{demo.dashboard_url}/realms/", timeout=60).status_code == 403


def test_sign_ins_make_the_sessions_keycloak_then_lists(real_keycloak, realm_name_unique):
    # The seeding the demo and the bench rely on, on the shared Keycloak in a realm of its own.
    realm = realm_name_unique
    admin = AdminApi(real_keycloak.base_url, "admin", "admin")
    try:
        realm_upsert(admin, realm=realm, settings={"rememberMe": True})
        client_upsert(admin, realm=realm, rep=MLFLOW_CLIENT)
        names = bulk_users_create(admin, realm=realm, count=3)
        sign_ins = [SignIn(realm, "mlflow", name, name) for name in names]
        sign_ins += [SignIn(realm, "mlflow", names[0], names[0], offline=True)]
        sign_ins += [SignIn(realm, "mlflow", names[1], names[1], form=True, remember_me=True)]
        sign_ins += [SignIn(realm, "mlflow", names[2], "not-the-password")]
        made = sign_ins_make(real_keycloak.base_url, sign_ins, concurrency=2)
        assert (made.online, made.offline, len(made.failures)) == (4, 1, 1)
        assert "Invalid user credentials" in made.failures[0]
        (stats,) = admin.get(f"/{realm}/client-session-stats")
        assert (stats["active"], stats["offline"]) == ("4", "1")
        user = admin.get(f"/{realm}/users", username=names[1], exact="true")[0]
        remembered = [s["rememberMe"] for s in admin.get(f"/{realm}/users/{user['id']}/sessions")]
        assert sorted(remembered) == [False, True]
    finally:
        # Leave the shared Keycloak as found: other tests count its realms.
        admin.call("DELETE", f"/{realm}", expect=(204, 404))
