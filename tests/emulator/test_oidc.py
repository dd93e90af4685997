"""OIDC endpoints: discovery, JWKS, token grants, userinfo, introspection, revocation, logout."""

import requests
from keycloak.exceptions import KeycloakPostError

TOKEN_KEYS = {
    "access_token",
    "expires_in",
    "refresh_expires_in",
    "refresh_token",
    "token_type",
    "id_token",
    "not-before-policy",
    "session_state",
    "scope",
}


def token_url(kc, realm="mlflow"):
    return f"{kc.base_url}/realms/{realm}/protocol/openid-connect/token"


def test_discovery_builds_endpoints_from_the_request_host(kc):
    body = requests.get(
        f"{kc.base_url}/realms/mlflow/.well-known/openid-configuration", timeout=5
    ).json()
    iss = f"{kc.base_url}/realms/mlflow"
    assert body["issuer"] == iss
    assert body["token_endpoint"] == f"{iss}/protocol/openid-connect/token"
    assert body["end_session_endpoint"] == f"{iss}/protocol/openid-connect/logout"
    assert body["scopes_supported"][0] == "openid"
    assert body["code_challenge_methods_supported"] == ["plain", "S256"]
    assert body["authorization_response_iss_parameter_supported"] is True


def test_jwks_has_exactly_a_signing_and_an_encryption_key(kc):
    keys = kc.openid("mlflow", "mlflow", "mlflow-secret").certs()["keys"]
    assert [(k["alg"], k["use"]) for k in keys] == [("RS256", "sig"), ("RSA-OAEP", "enc")]
    assert all({"kid", "n", "e", "x5c", "x5t", "x5t#S256"} <= set(k) for k in keys)


def test_realm_info_carries_the_public_key(kc):
    body = requests.get(f"{kc.base_url}/realms/mlflow", timeout=5).json()
    assert set(body) == {
        "realm",
        "public_key",
        "token-service",
        "account-service",
        "tokens-not-before",
    }
    assert body["tokens-not-before"] == 0


def test_password_grant_answers_the_nine_keys_with_keycloak_claims(kc):
    oid = kc.openid("mlflow", "mlflow", "mlflow-secret")
    tokens = oid.token("mlflow_user", "mlflow_user")
    assert set(tokens) == TOKEN_KEYS
    assert tokens["expires_in"] == 300
    assert tokens["refresh_expires_in"] == 1800
    access = oid.decode_token(tokens["access_token"])
    assert access["sid"] == tokens["session_state"]
    assert access["azp"] == "mlflow"
    assert access["typ"] == "Bearer"
    assert "session_state" not in access
    assert "default-roles-mlflow" in access["realm_access"]["roles"]
    assert access["aud"] == "account"
    id_token = oid.decode_token(tokens["id_token"])
    assert id_token["aud"] == "mlflow"
    assert id_token["typ"] == "ID"
    assert id_token["exp"] == access["exp"]


def test_api_client_tokens_live_an_hour_while_admin_cli_gets_a_minute(kc):
    api = kc.password_login(
        "master", "api-client", "wallaroo_user", "wallaroo_user", secret="api-client-secret"
    )
    cli = kc.password_login("master", "admin-cli", "admin", "admin")
    assert api["expires_in"] == 3600
    assert cli["expires_in"] == 60


def test_a_wrong_password_gets_400_invalid_grant(kc):
    response = requests.post(
        token_url(kc),
        data={
            "grant_type": "password",
            "client_id": "mlflow",
            "client_secret": "mlflow-secret",
            "username": "mlflow_user",
            "password": "nope",
        },
        timeout=5,
    )
    # 400 on 26.7.3 (older releases said 401): tests/parity password_grant_errors.
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid user credentials",
    }


def test_token_endpoint_errors_match_keycloak(kc):
    url = token_url(kc)
    missing = requests.post(url, data={"client_id": "mlflow"}, timeout=5)
    assert (missing.status_code, missing.json()["error_description"]) == (
        400,
        "Missing form parameter: grant_type",
    )
    unsupported = requests.post(url, data={"grant_type": "magic", "client_id": "mlflow"}, timeout=5)
    assert (unsupported.status_code, unsupported.json()["error"]) == (400, "unsupported_grant_type")
    bad_secret = requests.post(
        url, data={"grant_type": "password", "client_id": "mlflow", "client_secret": "x"}, timeout=5
    )
    assert bad_secret.status_code == 401
    assert bad_secret.json()["error"] == "unauthorized_client"
    garbage = requests.post(
        url,
        data={
            "grant_type": "refresh_token",
            "client_id": "mlflow",
            "client_secret": "mlflow-secret",
            "refresh_token": "garbage",
        },
        timeout=5,
    )
    assert garbage.status_code == 400
    assert (
        garbage.content == b'{"error":"invalid_grant","error_description":"Invalid refresh token"}'
    )


def test_direct_grant_is_refused_when_the_client_disallows_it(kc):
    response = requests.post(
        token_url(kc, "master"),
        data={
            "grant_type": "password",
            "client_id": "tokenadmin-worker",
            "client_secret": "tokenadmin-worker-secret",
            "username": "admin",
            "password": "admin",
        },
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error_description"] == "Client not allowed for direct access grants"


def test_client_credentials_has_no_refresh_token_nor_session(kc):
    oid = kc.openid("master", "tokenadmin-worker", "tokenadmin-worker-secret")
    tokens = oid.token(grant_type="client_credentials")
    assert "refresh_token" not in tokens
    assert "session_state" not in tokens
    assert tokens["refresh_expires_in"] == 0
    access = oid.decode_token(tokens["access_token"])
    assert "sid" not in access
    assert access["preferred_username"] == "service-account-tokenadmin-worker"
    assert access["client_id"] == "tokenadmin-worker"


def test_client_credentials_needs_service_accounts(kc):
    oid = kc.openid("master", "api-client", "api-client-secret")
    try:
        oid.token(grant_type="client_credentials")
    except KeycloakPostError as exc:
        assert exc.response_code == 400
        assert b"Client not enabled to retrieve service account" in exc.response_body
    else:
        raise AssertionError("client_credentials worked without service accounts")


def test_userinfo_returns_the_profile_and_rejects_garbage(kc):
    oid = kc.openid("mlflow", "mlflow", "mlflow-secret")
    tokens = oid.token("mlflow_user", "mlflow_user")
    info = oid.userinfo(tokens["access_token"])
    assert set(info) == {
        "sub",
        "email_verified",
        "name",
        "preferred_username",
        "given_name",
        "family_name",
        "email",
    }
    response = requests.get(
        f"{kc.base_url}/realms/mlflow/protocol/openid-connect/userinfo",
        headers={"Authorization": "Bearer garbage"},
        timeout=5,
    )
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert response.json()["error_description"] == "Token verification failed"


def test_introspection_reports_active_then_inactive_after_logout(kc):
    oid = kc.openid("mlflow", "mlflow", "mlflow-secret")
    tokens = oid.token("mlflow_user", "mlflow_user")
    active = oid.introspect(tokens["access_token"])
    assert active["active"] is True
    assert active["client_id"] == "mlflow"
    assert active["username"] == "mlflow_user"
    oid.logout(tokens["refresh_token"])
    assert oid.introspect(tokens["access_token"]) == {"active": False}


def test_introspection_refuses_public_clients(kc):
    tokens = kc.password_login("master", "sdk-client", "wallaroo_user", "wallaroo_user")
    response = requests.post(
        f"{kc.base_url}/realms/master/protocol/openid-connect/token/introspect",
        data={"client_id": "sdk-client", "token": tokens["access_token"]},
        timeout=5,
    )
    assert response.status_code == 403
    assert response.json()["error_description"] == "Client not allowed."


def test_revoking_a_refresh_token_ends_the_client_session(kc):
    oid = kc.openid("mlflow", "mlflow", "mlflow-secret")
    tokens = oid.token("mlflow_user", "mlflow_user")
    response = oid.connection.raw_post(
        "realms/mlflow/protocol/openid-connect/revoke",
        data={
            "token": tokens["refresh_token"],
            "client_id": "mlflow",
            "client_secret": "mlflow-secret",
        },
    )
    assert (response.status_code, response.content) == (200, b"")
    try:
        oid.refresh_token(tokens["refresh_token"])
    except KeycloakPostError as exc:
        assert exc.response_code == 400
        assert b"Session not active" in exc.response_body
    else:
        raise AssertionError("refresh worked after revocation")


def test_revoking_another_clients_token_is_refused(kc):
    tokens = kc.password_login(
        "master", "api-client", "wallaroo_user", "wallaroo_user", secret="api-client-secret"
    )
    response = requests.post(
        f"{kc.base_url}/realms/master/protocol/openid-connect/revoke",
        data={"token": tokens["refresh_token"], "client_id": "sdk-client"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error_description"] == "Unmatching clients"


def test_revoking_an_access_token_blacklists_it_but_keeps_the_session(kc):
    oid = kc.openid("mlflow", "mlflow", "mlflow-secret")
    tokens = oid.token("mlflow_user", "mlflow_user")
    requests.post(
        f"{kc.base_url}/realms/mlflow/protocol/openid-connect/revoke",
        data={
            "token": tokens["access_token"],
            "client_id": "mlflow",
            "client_secret": "mlflow-secret",
        },
        timeout=5,
    )
    assert oid.introspect(tokens["access_token"]) == {"active": False}
    assert oid.refresh_token(tokens["refresh_token"])["session_state"] == tokens["session_state"]


def test_revoking_a_dead_token_answers_200_invalid_token(kc):
    response = requests.post(
        f"{kc.base_url}/realms/mlflow/protocol/openid-connect/revoke",
        data={"token": "garbage", "client_id": "mlflow", "client_secret": "mlflow-secret"},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json() == {"error": "invalid_token", "error_description": "Invalid token"}


def test_logout_without_refresh_token_is_a_bad_request(kc):
    response = requests.post(
        f"{kc.base_url}/realms/mlflow/protocol/openid-connect/logout",
        data={"client_id": "mlflow", "client_secret": "mlflow-secret"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "No refresh token"}


def test_unknown_realm_and_path_answer_404(kc):
    assert (
        requests.get(
            f"{kc.base_url}/realms/nope/.well-known/openid-configuration", timeout=5
        ).status_code
        == 404
    )
    response = requests.get(f"{kc.base_url}/no/such/path", timeout=5)
    assert (response.status_code, response.json()) == (404, {"error": "HTTP 404 Not Found"})


def test_offline_login_needs_the_offline_access_role(kc):
    admin = kc.admin(realm_name="mlflow")
    role = admin.get_realm_role("offline_access")
    default = admin.get_realm_role("default-roles-mlflow")
    admin.remove_composite_realm_roles_to_role("default-roles-mlflow", [role])
    try:
        kc.password_login(
            "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret", offline=True
        )
    except KeycloakPostError as exc:
        assert exc.response_code == 400
    else:
        raise AssertionError("offline token without the role")
    assert default["composite"] is True


def test_a_failed_admin_login_raises_a_400_post_error(kc):
    # 26.7.3 answers 400, so python-keycloak raises KeycloakPostError, not its 401 error.
    try:
        kc.openid("master", "admin-cli").token("admin", "bad")
    except KeycloakPostError as exc:
        assert exc.response_code == 400
    else:
        raise AssertionError("bad password accepted")
