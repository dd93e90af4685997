"""Admin REST for realms, clients, users, roles and groups through python-keycloak."""

import json

import requests
from keycloak.exceptions import KeycloakGetError, KeycloakPostError, KeycloakPutError


def test_creating_a_realm_creates_keycloaks_built_ins(kc):
    admin = kc.admin()
    admin.create_realm({"realm": "fresh", "enabled": True})
    admin.change_current_realm("fresh")
    assert sorted(r["name"] for r in admin.get_realm_roles()) == [
        "default-roles-fresh",
        "offline_access",
        "uma_authorization",
    ]
    client_ids = {c["clientId"] for c in admin.get_clients()}
    assert {
        "account",
        "realm-management",
        "admin-cli",
        "broker",
        "security-admin-console",
    } <= client_ids
    admin.change_current_realm("master")
    assert admin.get_client_id("fresh-realm")
    keys = requests.get(
        f"{kc.base_url}/realms/fresh/protocol/openid-connect/certs", timeout=5
    ).json()["keys"]
    assert len(keys) == 2


def test_creating_a_realm_twice_is_a_conflict(kc):
    admin = kc.admin()
    try:
        admin.create_realm({"realm": "mlflow"})
    except KeycloakPostError as exc:
        assert exc.response_code == 409
        assert b"Realm mlflow already exists" in exc.response_body
    else:
        raise AssertionError("duplicate realm created")


def test_a_realm_update_round_trip_keeps_every_field(kc):
    admin = kc.admin()
    before = admin.get_realm("mlflow")
    changed = dict(before, ssoSessionIdleTimeout=900)
    admin.update_realm("mlflow", changed)
    after = admin.get_realm("mlflow")
    # Keycloak 26.7.3 also writes the client-session lifespans and scimApiEnabled it was sent
    # into `attributes` (tests/parity realm_update_read_modify_write); nothing else changes.
    assert {k: v for k, v in after.items() if k != "attributes"} == {
        k: v for k, v in changed.items() if k != "attributes"
    }
    assert after["attributes"] == {
        **changed["attributes"],
        "clientSessionIdleTimeout": "0",
        "clientSessionMaxLifespan": "0",
        "clientOfflineSessionIdleTimeout": "0",
        "clientOfflineSessionMaxLifespan": "0",
        "scimApiEnabled": "false",
    }


def test_a_partial_realm_update_keeps_absent_fields_and_replaces_attributes(kc):
    admin = kc.admin()
    admin.update_realm("mlflow", {"attributes": {"custom": "1"}, "oauth2DeviceCodeLifespan": 900})
    admin.update_realm("mlflow", {"accessTokenLifespan": 120.7})
    rep = admin.get_realm("mlflow")
    assert rep["accessTokenLifespan"] == 120
    assert rep["ssoSessionMaxLifespan"] == 36000
    assert rep["oauth2DeviceCodeLifespan"] == 600
    assert rep["attributes"]["custom"] == "1"
    admin.update_realm("mlflow", {"attributes": {"other": "2"}})
    assert "custom" not in admin.get_realm("mlflow")["attributes"]


def test_renaming_master_is_refused(kc):
    admin = kc.admin()
    try:
        admin.update_realm("master", {"realm": "boss"})
    except KeycloakPutError as exc:
        assert exc.response_code == 400
        assert b"Can't rename master realm" in exc.response_body
    else:
        raise AssertionError("master renamed")


def test_an_unknown_realm_field_is_a_bad_request(kc):
    admin = kc.admin()
    response = admin.connection.raw_put("admin/realms/mlflow", data='{"noSuchField": 1}')
    assert response.status_code == 400
    assert "Unrecognized field" in response.text


def test_the_viewer_sees_only_mlflow_and_cannot_update_it(kc):
    viewer = kc.admin(username="viewer", password="viewer")
    assert [r["realm"] for r in viewer.get_realms()] == ["mlflow"]
    response = viewer.connection.raw_put("admin/realms/mlflow", data='{"accessTokenLifespan": 10}')
    assert response.status_code == 403


def test_without_view_realm_the_realm_is_a_reduced_representation(kc):
    admin = kc.admin()
    outsider_id = admin.get_user_id("operator")
    cu = admin.get_client_id("mlflow-realm")
    role = admin.get_client_role(cu, "view-realm")
    admin.connection.raw_delete(
        f"admin/realms/master/users/{outsider_id}/role-mappings/clients/{cu}",
        data=json.dumps([{"id": role["id"], "name": "view-realm"}]),
    )
    admin.connection.raw_delete(
        f"admin/realms/master/users/{outsider_id}/role-mappings/clients/{cu}",
        data='[{"name": "manage-realm"}]',
    )
    operator = kc.admin(username="operator", password="operator")
    rep = operator.get_realm("mlflow")
    assert rep["realm"] == "mlflow"
    assert "accessTokenLifespan" not in rep


def test_the_outsider_sees_no_realm_and_gets_403(kc):
    outsider = kc.admin(username="outsider", password="outsider")
    # 26.7.3 refuses the realm list outright when the caller may see no realm.
    listed = outsider.connection.raw_get("admin/realms")
    assert (listed.status_code, listed.json()) == (403, {"error": "HTTP 403 Forbidden"})
    response = outsider.connection.raw_get("admin/realms/mlflow/users")
    assert (response.status_code, response.json()) == (403, {"error": "HTTP 403 Forbidden"})


def test_no_token_is_401(kc):
    response = requests.get(f"{kc.base_url}/admin/realms/mlflow/users", timeout=5)
    assert (response.status_code, response.json()) == (401, {"error": "HTTP 401 Unauthorized"})


def test_a_realm_token_administers_its_own_realm_only(kc):
    tokens = kc.password_login(
        "mlflow", "mlflow", "mlflow_admin", "mlflow_admin", secret="mlflow-secret"
    )
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    own = requests.get(f"{kc.base_url}/admin/realms/mlflow/users", headers=headers, timeout=5)
    assert own.status_code == 200
    other = requests.get(f"{kc.base_url}/admin/realms/master/users", headers=headers, timeout=5)
    assert other.status_code == 403


def test_the_service_account_worker_reads_mlflow(kc):
    from keycloak import KeycloakAdmin

    worker = KeycloakAdmin(
        server_url=kc.base_url,
        realm_name="mlflow",
        user_realm_name="master",
        client_id="tokenadmin-worker",
        client_secret_key="tokenadmin-worker-secret",
    )
    assert {u["username"] for u in worker.get_users()} == {"mlflow_admin", "mlflow_user"}


def test_client_crud_and_secret(kc):
    admin = kc.admin(realm_name="mlflow")
    admin.create_client({"clientId": "app", "secret": "s3cret", "attributes": {"x": "1"}})
    cu = admin.get_client_id("app")
    client = admin.get_client(cu)
    assert (client["enabled"], client["publicClient"], client["directAccessGrantsEnabled"]) == (
        True,
        False,
        True,
    )
    assert admin.get_client_secrets(cu) == {"type": "secret", "value": "s3cret"}
    new = admin.generate_client_secrets(cu)
    assert new["type"] == "secret" and new["value"] != "s3cret"
    admin.update_client(cu, dict(client, description="changed"))
    assert admin.get_client(cu)["description"] == "changed"
    admin.delete_client(cu)
    try:
        admin.get_client(cu)
    except KeycloakGetError as exc:
        assert exc.response_code == 404
        assert exc.response_body == b'{"error":"Could not find client"}'
    else:
        raise AssertionError("deleted client still there")


def test_a_duplicate_client_is_a_conflict(kc):
    admin = kc.admin(realm_name="mlflow")
    response = admin.connection.raw_post(
        "admin/realms/mlflow/clients", data='{"clientId": "mlflow"}'
    )
    assert response.status_code == 409
    assert response.json() == {"errorMessage": "Client mlflow already exists"}


def test_service_account_user_of_the_worker(kc):
    admin = kc.admin()
    cu = admin.get_client_id("tokenadmin-worker")
    user = admin.get_client_service_account_user(cu)
    assert user["username"] == "service-account-tokenadmin-worker"


def test_user_crud_search_count_and_password(kc):
    admin = kc.admin(realm_name="mlflow")
    user_id = admin.create_user(
        {"username": "Alice", "email": "alice@example.com", "enabled": True}
    )
    assert admin.get_user(user_id)["username"] == "alice"
    assert admin.users_count() == 3
    assert [u["username"] for u in admin.get_users({"search": "ali"})] == ["alice"]
    assert [u["username"] for u in admin.get_users({"username": "mlflow", "max": 1})] == [
        "mlflow_admin"
    ]
    assert admin.get_users({"username": "mlflow", "exact": "true"}) == []
    admin.set_user_password(user_id, "pw", temporary=False)
    assert kc.password_login("mlflow", "mlflow", "alice", "pw", secret="mlflow-secret")[
        "access_token"
    ]
    admin.update_user(user_id, {"firstName": "Al"})
    assert admin.get_user(user_id)["firstName"] == "Al"
    admin.delete_user(user_id)
    assert admin.users_count() == 2


def test_a_user_created_without_enabled_is_disabled_and_duplicates_conflict(kc):
    admin = kc.admin(realm_name="mlflow")
    user_id = admin.create_user({"username": "bob"})
    assert admin.get_user(user_id)["enabled"] is False
    response = admin.connection.raw_post("admin/realms/mlflow/users", data='{"username": "bob"}')
    assert response.status_code == 409
    assert response.json() == {"errorMessage": "User exists with same username"}
    missing = admin.connection.raw_get("admin/realms/mlflow/users/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "User not found"})


def test_realm_and_client_role_mappings(kc):
    admin = kc.admin(realm_name="mlflow")
    admin.create_realm_role({"name": "analyst"})
    user_id = admin.get_user_id("mlflow_user")
    admin.assign_realm_roles(user_id, [admin.get_realm_role("analyst")])
    assert "analyst" in [r["name"] for r in admin.get_realm_roles_of_user(user_id)]
    cu = admin.get_client_id("mlflow")
    admin.create_client_role(cu, {"name": "reader"})
    admin.assign_client_role(user_id, cu, [admin.get_client_role(cu, "reader")])
    assert [r["name"] for r in admin.get_client_roles_of_user(user_id, cu)] == ["reader"]
    tokens = kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret"
    )
    claims = kc.openid("mlflow", "mlflow", "mlflow-secret").decode_token(tokens["access_token"])
    assert "analyst" in claims["realm_access"]["roles"]
    assert claims["resource_access"]["mlflow"]["roles"] == ["reader"]


def test_groups_and_membership(kc):
    admin = kc.admin(realm_name="mlflow")
    groups = admin.get_groups()
    assert [g["name"] for g in groups] == ["ml-engineers"]
    members = admin.get_group_members(groups[0]["id"])
    assert [m["username"] for m in members] == ["mlflow_user"]
    group_id = admin.create_group({"name": "ops"})
    admin_id = admin.get_user_id("mlflow_admin")
    admin.group_user_add(admin_id, group_id)
    assert [g["name"] for g in admin.get_user_groups(admin_id)] == ["ops"]
    admin.group_user_remove(admin_id, group_id)
    assert admin.get_group_members(group_id) == []
    admin.delete_group(group_id)
    assert [g["name"] for g in admin.get_groups()] == ["ml-engineers"]


def test_deleting_a_realm_removes_its_master_client(kc):
    admin = kc.admin()
    admin.create_realm({"realm": "doomed"})
    admin.delete_realm("doomed")
    assert "doomed" not in [r["realm"] for r in admin.get_realms()]
    assert admin.get_client_id("doomed-realm") is None
