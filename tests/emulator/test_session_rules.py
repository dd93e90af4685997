"""Session semantics under the clock hook: idle, max, remember-me, offline, rotation, not-before."""

import requests
from keycloak.exceptions import KeycloakPostError


def refresh_error(oid, refresh_token):
    try:
        oid.refresh_token(refresh_token)
    except KeycloakPostError as exc:
        assert exc.response_code == 400
        return exc.response_body.decode()
    raise AssertionError("refresh succeeded")


def mlflow(kc):
    return kc.openid("mlflow", "mlflow", "mlflow-secret")


def sessions_of(kc, realm, username):
    admin = kc.admin(realm_name=realm)
    return admin.get_sessions(admin.get_user_id(username))


def set_realm(kc, realm, **fields):
    admin = kc.admin(realm_name=realm)
    rep = admin.get_realm(realm)
    rep.update(fields)
    admin.update_realm(realm, rep)


def test_a_session_dies_after_the_idle_timeout_and_a_refresh_moves_it(kc):
    oid = mlflow(kc)
    tokens = oid.token("mlflow_admin", "mlflow_admin")
    kc.advance(1700)
    tokens = oid.refresh_token(tokens["refresh_token"])
    kc.advance(1700)
    assert [s["id"] for s in sessions_of(kc, "mlflow", "mlflow_admin")] == [tokens["session_state"]]
    kc.advance(101)
    assert sessions_of(kc, "mlflow", "mlflow_admin") == []
    assert "Token is not active" in refresh_error(oid, tokens["refresh_token"])


def test_a_session_dies_at_the_max_lifespan_even_when_refreshed(kc):
    oid = mlflow(kc)
    tokens = oid.token("mlflow_admin", "mlflow_admin")
    for _ in range(20):
        kc.advance(1750)
        tokens = oid.refresh_token(tokens["refresh_token"])
    assert 36000 - 35000 - 2 <= tokens["refresh_expires_in"] <= 36000 - 35000
    kc.advance(1000)
    assert sessions_of(kc, "mlflow", "mlflow_admin") == []


def test_remember_me_sessions_use_the_longer_remember_me_timeouts(kc):
    set_realm(kc, "mlflow", ssoSessionIdleTimeoutRememberMe=7200)
    kc.create_session(realm="mlflow", username="mlflow_admin", client_id="mlflow", remember_me=True)
    kc.create_session(realm="mlflow", username="mlflow_admin", client_id="mlflow")
    kc.advance(3600)
    remaining = sessions_of(kc, "mlflow", "mlflow_admin")
    assert [s["rememberMe"] for s in remaining] == [True]


def test_remember_me_sessions_die_when_the_realm_switches_it_off(kc):
    kc.create_session(realm="mlflow", username="mlflow_admin", client_id="mlflow", remember_me=True)
    assert [s["rememberMe"] for s in sessions_of(kc, "mlflow", "mlflow_admin")] == [False, True]
    set_realm(kc, "mlflow", rememberMe=False)
    assert [s["rememberMe"] for s in sessions_of(kc, "mlflow", "mlflow_admin")] == [False]


def test_offline_sessions_outlive_sso_and_die_at_offline_idle(kc):
    oid = kc.openid("master", "api-client", "api-client-secret")
    tokens = oid.token("wallaroo_user", "wallaroo_user", scope="openid offline_access")
    assert tokens["refresh_expires_in"] == 0
    assert oid.decode_token(tokens["access_token"])["typ"] == "Bearer"
    kc.advance(86400)
    tokens = oid.refresh_token(tokens["refresh_token"])
    # The emulator's clock keeps running between two calls: a margin of 30 s, not 1 s, so a
    # loaded machine does not idle the session out before the refresh arrives.
    kc.advance(2592000 - 30)
    tokens = oid.refresh_token(tokens["refresh_token"])
    kc.advance(2592000)
    assert "Offline user session not found" in refresh_error(oid, tokens["refresh_token"])


def test_offline_max_lifespan_applies_only_when_enabled(kc):
    set_realm(kc, "master", offlineSessionMaxLifespanEnabled=True, offlineSessionMaxLifespan=100000)
    oid = kc.openid("master", "api-client", "api-client-secret")
    tokens = oid.token("wallaroo_user", "wallaroo_user", scope="openid offline_access")
    assert tokens["refresh_expires_in"] == 100000
    kc.advance(60000)
    tokens = oid.refresh_token(tokens["refresh_token"])
    assert tokens["refresh_expires_in"] <= 40000
    kc.advance(40001)
    assert "Token is not active" in refresh_error(oid, tokens["refresh_token"])
    admin = kc.admin()
    cu = admin.get_client_id("api-client")
    count = admin.connection.raw_get(
        f"admin/realms/master/clients/{cu}/offline-session-count"
    ).json()
    assert count == {"count": 0}


def test_client_idle_override_shortens_the_refresh_token(kc):
    admin = kc.admin(realm_name="mlflow")
    cu = admin.get_client_id("mlflow")
    admin.update_client(cu, {"attributes": {"client.session.idle.timeout": "600"}})
    oid = mlflow(kc)
    tokens = oid.token("mlflow_admin", "mlflow_admin")
    assert tokens["refresh_expires_in"] == 600
    kc.advance(601)
    assert "Token is not active" in refresh_error(oid, tokens["refresh_token"])


def test_rotation_allows_max_reuse_plus_one_then_detaches_the_client(kc):
    set_realm(kc, "mlflow", revokeRefreshToken=True, refreshTokenMaxReuse=1)
    oid = mlflow(kc)
    first = oid.token("mlflow_admin", "mlflow_admin")
    kc.advance(1)
    second = oid.refresh_token(first["refresh_token"])
    oid.refresh_token(first["refresh_token"])
    body = refresh_error(oid, first["refresh_token"])
    assert "Maximum allowed refresh token reuse exceeded" in body
    assert "Session doesn't have required client" in refresh_error(oid, second["refresh_token"])


def test_without_rotation_old_refresh_tokens_stay_usable(kc):
    oid = mlflow(kc)
    first = oid.token("mlflow_admin", "mlflow_admin")
    kc.advance(5)
    oid.refresh_token(first["refresh_token"])
    assert oid.refresh_token(first["refresh_token"])["session_state"] == first["session_state"]


def test_with_rotation_an_older_token_is_stale_after_a_newer_one_is_used(kc):
    set_realm(kc, "mlflow", revokeRefreshToken=True, refreshTokenMaxReuse=0)
    oid = mlflow(kc)
    first = oid.token("mlflow_admin", "mlflow_admin")
    kc.advance(1)
    second = oid.refresh_token(first["refresh_token"])
    kc.advance(1)
    oid.refresh_token(second["refresh_token"])
    assert "Stale token" in refresh_error(oid, first["refresh_token"])


def test_realm_not_before_makes_older_tokens_stale(kc):
    oid = mlflow(kc)
    tokens = oid.token("mlflow_admin", "mlflow_admin")
    kc.advance(1)
    set_realm(kc, "mlflow", notBefore=kc.now())
    assert "Stale token" in refresh_error(oid, tokens["refresh_token"])
    assert oid.introspect(tokens["access_token"]) == {"active": False}
    assert sessions_of(kc, "mlflow", "mlflow_admin")  # notBefore never shortens listed sessions


def test_client_not_before_via_put_makes_its_tokens_stale(kc):
    oid = mlflow(kc)
    tokens = oid.token("mlflow_admin", "mlflow_admin")
    kc.advance(1)
    admin = kc.admin(realm_name="mlflow")
    cu = admin.get_client_id("mlflow")
    admin.update_client(cu, {"notBefore": kc.now()})
    assert "Stale token" in refresh_error(oid, tokens["refresh_token"])


def test_user_logout_sets_not_before_so_offline_tokens_go_stale(kc):
    oid = kc.openid("master", "api-client", "api-client-secret")
    tokens = oid.token("wallaroo_user", "wallaroo_user", scope="openid offline_access")
    kc.advance(1)
    admin = kc.admin()
    user_id = admin.get_user_id("wallaroo_user")
    admin.user_logout(user_id)
    assert admin.get_sessions(user_id) == []
    cu = admin.get_client_id("api-client")
    offline = admin.connection.raw_get(
        f"admin/realms/master/users/{user_id}/offline-sessions/{cu}"
    ).json()
    assert tokens["session_state"] in [s["id"] for s in offline]
    assert "Stale token" in refresh_error(oid, tokens["refresh_token"])


def test_access_tokens_stay_valid_until_exp_but_introspection_notices_logout(kc):
    oid = mlflow(kc)
    tokens = oid.token("mlflow_admin", "mlflow_admin")
    admin = kc.admin(realm_name="mlflow")
    admin.connection.raw_delete(f"admin/realms/mlflow/sessions/{tokens['session_state']}")
    assert oid.decode_token(tokens["access_token"])["sid"] == tokens["session_state"]
    assert oid.introspect(tokens["access_token"]) == {"active": False}
    response = requests.get(
        f"{kc.base_url}/realms/mlflow/protocol/openid-connect/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert response.status_code == 401


def test_the_admin_client_recovers_after_its_session_expired(kc):
    admin = kc.admin()
    assert admin.get_realm("master")["realm"] == "master"
    kc.advance(40000)
    assert admin.get_realm("master")["realm"] == "master"
