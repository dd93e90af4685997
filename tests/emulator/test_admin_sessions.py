"""Session admin: lists, paging, counts, stats, ui-ext, and what each revocation removes."""

from keycloak.exceptions import KeycloakGetError


def realm_admin(kc, realm="master"):
    return kc.admin(realm_name=realm)


def raw(admin, path, **query):
    response = admin.connection.raw_get(
        f"admin/realms/{admin.connection.realm_name}/{path}", **query
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_session_representation_has_keycloaks_fields_in_epoch_ms(kc):
    admin = realm_admin(kc, "mlflow")
    tokens = kc.password_login(
        "mlflow", "mlflow", "mlflow_admin", "mlflow_admin", secret="mlflow-secret"
    )
    sessions = admin.get_sessions(admin.get_user_id("mlflow_admin"))
    mine = next(s for s in sessions if s["id"] == tokens["session_state"])
    assert set(mine) == {
        "id",
        "username",
        "userId",
        "ipAddress",
        "start",
        "lastAccess",
        "rememberMe",
        "clients",
        "transientUser",
    }
    assert abs(mine["start"] - kc.now() * 1000) < 5000
    assert list(mine["clients"].values()) == ["mlflow"]


def test_client_sessions_page_with_first_and_max_and_count(kc):
    kc.seed(realm="mlflow", users=50, sessions=250, offline_ratio=0.0, clients=["mlflow"])
    admin = realm_admin(kc, "mlflow")
    cu = admin.get_client_id("mlflow")
    count = raw(admin, f"clients/{cu}/session-count")["count"]
    assert count == 250 + 3
    default_page = raw(admin, f"clients/{cu}/user-sessions")
    assert len(default_page) == 100
    pages = [
        raw(admin, f"clients/{cu}/user-sessions", first=first, max=100) for first in (0, 100, 200)
    ]
    ids = [s["id"] for page in pages for s in page]
    assert len(ids) == len(set(ids)) == count
    assert len(admin.get_client_all_sessions(cu)) == count


def test_offline_sessions_per_client_and_per_user(kc):
    admin = realm_admin(kc)
    cu = admin.get_client_id("api-client")
    assert raw(admin, f"clients/{cu}/offline-session-count") == {"count": 2}
    offline = raw(admin, f"clients/{cu}/offline-sessions")
    assert {s["username"] for s in offline} == {"wallaroo_user", "data_scientist"}
    user_id = admin.get_user_id("data_scientist")
    mine = raw(admin, f"users/{user_id}/offline-sessions/{cu}")
    assert len(mine) == 1
    missing = admin.connection.raw_get(f"admin/realms/master/users/{user_id}/offline-sessions/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "Client not found"})


def test_client_session_stats_count_as_strings(kc):
    admin = realm_admin(kc)
    stats = {s["clientId"]: s for s in admin.get_client_sessions_stats()}
    assert stats["api-client"]["active"] == "1"
    assert stats["api-client"]["offline"] == "2"
    assert stats["sdk-client"] == {
        "id": admin.get_client_id("sdk-client"),
        "clientId": "sdk-client",
        "active": "1",
        "offline": "2",
    }


def test_ui_ext_sessions_lists_regular_then_offline_with_search(kc):
    admin = realm_admin(kc)
    everything = raw(admin, "ui-ext/sessions", first=0, max=50)
    kinds = [s["type"] for s in everything]
    assert kinds == sorted(kinds, key=lambda k: k != "REGULAR")
    assert "rememberMe" not in everything[0]
    assert {s["username"] for s in raw(admin, "ui-ext/sessions", search="data_sci", max=50)} == {
        "data_scientist"
    }
    assert raw(admin, "ui-ext/sessions", type="OFFLINE", max=50)
    assert raw(admin, "ui-ext/sessions", max=2).__len__() == 2
    bad = admin.connection.raw_get("admin/realms/master/ui-ext/sessions", type="WRONG")
    assert bad.status_code == 404
    cu = admin.get_client_id("sdk-client")
    per_client = raw(admin, "ui-ext/sessions/client", clientId=cu, max=50)
    assert all("sdk-client" in s["clients"].values() for s in per_client)


def test_deleting_a_session_removes_it_and_answers_404_afterwards(kc):
    admin = realm_admin(kc, "mlflow")
    tokens = kc.password_login(
        "mlflow", "mlflow", "mlflow_admin", "mlflow_admin", secret="mlflow-secret"
    )
    path = f"admin/realms/mlflow/sessions/{tokens['session_state']}"
    assert admin.connection.raw_delete(path).status_code == 204
    again = admin.connection.raw_delete(path)
    assert (again.status_code, again.json()) == (404, {"error": "Sesssion not found"})


def test_an_offline_direct_grant_leaves_only_the_offline_session(kc):
    oid = kc.openid("master", "api-client", "api-client-secret")
    tokens = oid.token("wallaroo_user", "wallaroo_user", scope="openid offline_access")
    admin = realm_admin(kc)
    user_id = admin.get_user_id("wallaroo_user")
    # 26.7.3 keeps no online twin of it (tests/parity offline_sessions).
    assert tokens["session_state"] not in [s["id"] for s in admin.get_sessions(user_id)]
    cu = admin.get_client_id("api-client")
    assert tokens["session_state"] in [
        s["id"] for s in raw(admin, f"users/{user_id}/offline-sessions/{cu}")
    ]


def test_deleting_an_offline_session_drops_its_online_twin(kc):
    # A browser login asking for offline_access keeps its online SSO session as well.
    made = kc.create_session(
        realm="master", username="wallaroo_user", clients=["api-client"], offline=True
    )
    kc.create_session(
        realm="master", username="wallaroo_user", clients=["api-client"], id=made["id"]
    )
    tokens = {"session_state": made["id"]}
    admin = realm_admin(kc)
    user_id = admin.get_user_id("wallaroo_user")
    assert tokens["session_state"] in [s["id"] for s in admin.get_sessions(user_id)]
    response = admin.connection.raw_delete(
        f"admin/realms/master/sessions/{tokens['session_state']}", isOffline="true"
    )
    assert response.status_code == 204
    assert tokens["session_state"] not in [s["id"] for s in admin.get_sessions(user_id)]
    cu = admin.get_client_id("api-client")
    assert tokens["session_state"] not in [
        s["id"] for s in raw(admin, f"users/{user_id}/offline-sessions/{cu}")
    ]


def test_logout_all_removes_online_and_offline_sessions_and_sets_not_before(kc):
    admin = realm_admin(kc)
    response = admin.connection.raw_post("admin/realms/master/logout-all", data="")
    assert (response.status_code, response.json()) == (200, {})
    # python-keycloak meets a 401 (its own session is gone too) and logs in again: one new session.
    assert [s["username"] for s in raw(admin, "ui-ext/sessions", type="REGULAR", max=100)] == [
        "admin"
    ]
    cu = admin.get_client_id("api-client")
    # 26.7.3 ends offline sessions too (tests/parity realm_logout_all).
    assert raw(admin, f"clients/{cu}/offline-session-count") == {"count": 0}
    assert admin.get_realm("master")["notBefore"] > 0


def test_logout_all_also_logs_out_the_calling_admin(kc):
    admin = realm_admin(kc)
    admin.connection.raw_post("admin/realms/master/logout-all", data="")
    kc.advance(1)
    assert (
        admin.get_realm("master")["realm"] == "master"
    )  # python-keycloak logs in again after a 401


def test_consent_revoke_drops_offline_sessions_of_that_client(kc):
    admin = realm_admin(kc)
    user_id = admin.get_user_id("data_scientist")
    consents = admin.user_consents(user_id)
    assert {c["clientId"] for c in consents} == {"api-client", "sdk-client"}
    assert consents[0]["additionalGrants"][0]["key"] == "Offline Token"
    admin.revoke_consent(user_id, "sdk-client")
    assert {c["clientId"] for c in admin.user_consents(user_id)} == {"api-client"}
    cu = admin.get_client_id("sdk-client")
    assert raw(admin, f"users/{user_id}/offline-sessions/{cu}") == []
    assert [s["clients"] for s in admin.get_sessions(user_id)] == [{cu: "sdk-client"}]
    try:
        admin.revoke_consent(user_id, "sdk-client")
    except Exception as exc:  # python-keycloak raises KeycloakDeleteError
        assert exc.response_code == 404
        assert exc.response_body == b'{"error":"Consent nor offline token not found"}'
    else:
        raise AssertionError("second revoke succeeded")


def test_push_revocation_answers_an_empty_global_request_result(kc):
    admin = realm_admin(kc)
    assert admin.connection.raw_post("admin/realms/master/push-revocation", data="").json() == {}
    cu = admin.get_client_id("api-client")
    response = admin.connection.raw_post(
        f"admin/realms/master/clients/{cu}/push-revocation", data=""
    )
    assert (response.status_code, response.json()) == (200, {})


def test_viewer_may_list_sessions_but_not_delete_them(kc):
    viewer = kc.admin(username="viewer", password="viewer", realm_name="mlflow")
    user_id = viewer.get_user_id("mlflow_user")
    sessions = viewer.get_sessions(user_id)
    assert len(sessions) == 2
    response = viewer.connection.raw_delete(f"admin/realms/mlflow/sessions/{sessions[0]['id']}")
    assert response.status_code == 403
    assert {s["clientId"] for s in viewer.get_client_sessions_stats()} == {"mlflow"}
    try:
        viewer.get_realm_roles()
        viewer.connection.realm_name = "master"
        viewer.get_users()
    except KeycloakGetError as exc:
        assert exc.response_code == 403
    else:
        raise AssertionError("viewer listed master users")


def test_operator_may_logout_a_user_in_mlflow(kc):
    operator = kc.admin(username="operator", password="operator", realm_name="mlflow")
    user_id = operator.get_user_id("mlflow_user")
    operator.user_logout(user_id)
    assert operator.get_sessions(user_id) == []
    assert operator.get_user(user_id)["notBefore"] > 0


def test_admin_events_are_recorded_when_enabled(kc):
    admin = realm_admin(kc, "mlflow")
    admin.connection.raw_put(
        "admin/realms/mlflow/events/config",
        data='{"adminEventsEnabled": true, "adminEventsDetailsEnabled": true, '
        '"eventsEnabled": true}',
    )
    sessions = admin.get_sessions(admin.get_user_id("mlflow_user"))
    admin.connection.raw_delete(f"admin/realms/mlflow/sessions/{sessions[0]['id']}")
    events = admin.get_admin_events()
    assert events[0]["operationType"] == "DELETE"
    assert events[0]["resourceType"] == "USER_SESSION"
    assert events[0]["resourcePath"] == f"sessions/{sessions[0]['id']}"
    kc.password_login("mlflow", "mlflow", "mlflow_admin", "mlflow_admin", secret="mlflow-secret")
    assert admin.get_events({"type": "LOGIN"})[0]["clientId"] == "mlflow"
    config = admin.connection.raw_get("admin/realms/mlflow/events/config").json()
    assert config["eventsEnabled"] is True


def test_expired_sessions_vanish_from_every_list_and_count(kc):
    admin = realm_admin(kc, "mlflow")
    cu = admin.get_client_id("mlflow")
    kc.advance(1801)
    assert raw(admin, f"clients/{cu}/session-count") == {"count": 0}
    assert raw(admin, f"clients/{cu}/user-sessions") == []
    assert admin.get_client_sessions_stats() == []


def test_user_events_older_than_the_realms_expiration_are_dropped(kc):
    import requests

    admin = kc.admin("mlflow")
    admin.connection.raw_put(
        "admin/realms/mlflow/events/config",
        data='{"eventsEnabled": true, "eventsExpiration": 3600}',
    )
    config = admin.connection.raw_get("admin/realms/mlflow/events/config").json()
    assert config["eventsExpiration"] == 3600

    def failed_login() -> None:
        requests.post(
            f"{kc.base_url}/realms/mlflow/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli", "username": "nobody"},
            timeout=10,
        )

    failed_login()
    assert [e["type"] for e in admin.get_events()] == ["LOGIN_ERROR"]
    kc.advance(3599)
    assert len(admin.get_events()) == 1
    kc.advance(2)
    assert admin.get_events() == []  # older than an hour: gone
    failed_login()
    assert len(admin.get_events()) == 1
