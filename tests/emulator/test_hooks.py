"""Test hooks: clock, faults, bulk seeding, reset, direct sessions; and --import-realm."""

import json
import time

import requests

from tests.fixtures.emulator import running_emulator
from tests.sessionindex.test_refresh_faults import keycloak_sessions


def test_the_clock_can_be_set_and_advanced_and_tokens_follow_it(kc):
    target = 2_000_000_000
    assert kc.set_clock(target) == target
    assert kc.advance(60) == target + 60
    tokens = kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret"
    )
    claims = kc.openid("mlflow", "mlflow", "mlflow-secret").decode_token(tokens["access_token"])
    assert target + 60 <= claims["iat"] <= target + 62


def test_a_status_fault_answers_keycloaks_error_body_then_clears(kc):
    kc.fault(r"/admin/realms/mlflow/users$", status=503, times=1)
    url = f"{kc.base_url}/admin/realms/mlflow/users"
    first = requests.get(url, timeout=5)
    assert first.status_code == 503
    assert first.json()["error"] == "unknown_error"
    assert requests.get(url, timeout=5).status_code == 401


def test_a_latency_fault_delays_matching_requests_only(kc):
    kc.fault("/realms/mlflow$", method="GET", latency_ms=300)
    started = time.perf_counter()
    requests.get(f"{kc.base_url}/realms/mlflow", timeout=5)
    slow = time.perf_counter() - started
    started = time.perf_counter()
    requests.get(f"{kc.base_url}/realms/master", timeout=5)
    fast = time.perf_counter() - started
    assert slow >= 0.3 > fast


def test_a_reset_fault_drops_the_connection(kc):
    kc.fault("/realms/mlflow$", reset_connection=True)
    try:
        requests.get(f"{kc.base_url}/realms/mlflow", timeout=5)
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError("the connection was not dropped")
    kc.clear_faults()
    assert requests.get(f"{kc.base_url}/realms/mlflow", timeout=5).status_code == 200


def test_an_error_rate_fails_about_that_share(kc):
    kc.fault("/realms/master$", status=500, error_rate=0.5)
    statuses = [
        requests.get(f"{kc.base_url}/realms/master", timeout=5).status_code for _ in range(60)
    ]
    assert 10 < statuses.count(500) < 50


def test_an_every_fault_hits_each_nth_matching_request_only(kc):
    kc.fault("/realms/master$", status=500, every=3)
    statuses = [
        requests.get(f"{kc.base_url}/realms/master", timeout=5).status_code for _ in range(7)
    ]
    assert statuses == [200, 200, 500, 200, 200, 500, 200]
    response = requests.post(f"{kc.base_url}/_emulator/faults", json={"every": 0}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "every must be a positive integer"


def test_expire_ends_that_many_sessions_of_the_realm(kc):
    kc.seed(realm="loadtest", users=20, sessions=200, offline_ratio=0.25)
    assert kc.expire("loadtest", 50) == 50
    assert len(keycloak_sessions(kc, "loadtest")) == 150
    assert kc.expire("loadtest", 500) == 150
    response = requests.post(
        f"{kc.base_url}/_emulator/expire", json={"realm": "nowhere", "sessions": 1}, timeout=5
    )
    assert response.status_code == 404


def test_bad_hook_bodies_are_400_not_tracebacks(kc):
    response = requests.post(f"{kc.base_url}/_emulator/faults", data="{", timeout=5)
    assert response.status_code == 400
    response = requests.post(f"{kc.base_url}/_emulator/clock", json={"set": "soon"}, timeout=5)
    assert response.status_code == 400


def test_seed_creates_users_and_sessions_with_an_offline_share(kc):
    result = kc.seed(realm="loadtest", users=20, sessions=200, offline_ratio=0.25)
    assert result["users"] == 20
    assert result["sessions"] + result["offline_sessions"] == 200
    admin = kc.admin(realm_name="loadtest")
    assert admin.users_count() == 20
    offline = admin.connection.raw_get(
        "admin/realms/loadtest/ui-ext/sessions", type="OFFLINE", max=500
    ).json()
    assert len(offline) == result["offline_sessions"]
    ips = {
        s["ipAddress"]
        for s in admin.connection.raw_get("admin/realms/loadtest/ui-ext/sessions", max=200).json()
    }
    assert all(ip.startswith(("10.", "192.168.", "172.16.")) for ip in ips)


def test_reset_returns_to_the_seed(kc):
    kc.seed(realm="mlflow", users=5, sessions=10)
    kc.advance(100000)
    kc.reset()
    admin = kc.admin(realm_name="mlflow")
    assert admin.users_count() == 2
    assert abs(kc.now() - time.time()) < 5


def test_a_direct_session_appears_for_the_user(kc):
    created = kc.create_session(
        realm="mlflow", username="mlflow_admin", client_id="mlflow", ip="10.9.9.9"
    )
    admin = kc.admin(realm_name="mlflow")
    sessions = admin.get_sessions(admin.get_user_id("mlflow_admin"))
    assert created["id"] in [s["id"] for s in sessions]


def test_import_realm_reads_a_keycloak_export(tmp_path):
    export = {
        "realm": "imported",
        "enabled": True,
        "accessTokenLifespan": 120,
        "roles": {"realm": [{"name": "reader"}], "client": {"app": [{"name": "editor"}]}},
        "groups": [{"name": "team", "realmRoles": ["reader"]}],
        "clients": [
            {
                "clientId": "app",
                "secret": "app-secret",
                "redirectUris": ["http://127.0.0.1/*"],
                "directAccessGrantsEnabled": True,
                "attributes": {"access.token.lifespan": "90"},
            },
        ],
        "users": [
            {
                "username": "ivy",
                "enabled": True,
                "email": "ivy@example.com",
                "credentials": [{"type": "password", "value": "ivy-pw"}],
                "realmRoles": ["reader"],
                "clientRoles": {"app": ["editor"]},
                "groups": ["/team"],
            },
        ],
        "components": {"ignored": []},
    }
    path = tmp_path / "realm.json"
    path.write_text(json.dumps(export))
    with running_emulator("--import-realm", str(path)) as emulator:
        tokens = emulator.password_login("imported", "app", "ivy", "ivy-pw", secret="app-secret")
        assert tokens["expires_in"] == 90
        claims = emulator.openid("imported", "app", "app-secret").decode_token(
            tokens["access_token"]
        )
        assert "reader" in claims["realm_access"]["roles"]
        assert claims["resource_access"]["app"]["roles"] == ["editor"]
        admin = emulator.admin(realm_name="imported")
        assert admin.get_realm("imported")["accessTokenLifespan"] == 120
        assert [m["username"] for m in admin.get_group_members(admin.get_groups()[0]["id"])] == [
            "ivy"
        ]


def test_bad_admin_requests_get_keycloak_errors_not_tracebacks(kc):
    admin = kc.admin(realm_name="mlflow")
    conn = admin.connection
    assert conn.raw_post("admin/realms/mlflow/users", data="{not json").status_code == 400
    assert conn.raw_post("admin/realms/mlflow/users", data="[1, 2]").status_code == 400
    assert (
        conn.raw_put("admin/realms/mlflow", data='{"accessTokenLifespan": "abc"}').status_code
        == 400
    )
    response = conn.raw_get("admin/realms/mlflow/users", max="lots")
    assert response.status_code == 404
    assert conn.raw_get("admin/realms/nope/users").json() == {"error": "Realm not found."}
    assert conn.raw_get("admin/realms/mlflow/no-such-thing").json() == {
        "error": "HTTP 404 Not Found"
    }
    wrong_method = conn.raw_put("admin/realms/mlflow/client-session-stats", data="{}")
    assert (wrong_method.status_code, wrong_method.json()) == (
        405,
        {"error": "HTTP 405 Method Not Allowed"},
    )
    mappings = conn.raw_post(
        f"admin/realms/mlflow/users/{admin.get_user_id('mlflow_user')}/role-mappings/realm",
        data='[{"name": "no-such-role"}]',
    )
    assert (mappings.status_code, mappings.json()) == (404, {"error": "Could not find role"})
