"""Admin login and the seeded realms through python-keycloak, unchanged."""

from keycloak.exceptions import KeycloakGetError, KeycloakPostError


def test_admin_logs_in_and_sees_the_seeded_realms(kc):
    admin = kc.admin()
    assert sorted(r["realm"] for r in admin.get_realms()) == ["master", "mlflow"]


def test_a_password_grant_session_appears_in_the_user_sessions(kc):
    tokens = kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret"
    )
    admin = kc.admin(realm_name="mlflow")
    user_id = admin.get_user_id("mlflow_user")
    ids = [s["id"] for s in admin.get_sessions(user_id)]
    assert tokens["session_state"] in ids


def test_a_bad_admin_password_is_refused(kc):
    try:
        kc.admin(password="wrong").get_realms()
    except KeycloakPostError as exc:  # 400 invalid_grant on 26.7.3
        assert exc.response_code == 400
    else:
        raise AssertionError("login with a wrong password succeeded")


def test_the_viewer_cannot_read_master_users(kc):
    viewer = kc.admin(username="viewer", password="viewer", realm_name="master")
    try:
        viewer.get_users()
    except KeycloakGetError as exc:
        assert exc.response_code == 403
        assert exc.response_body == b'{"error":"HTTP 403 Forbidden"}'
    else:
        raise AssertionError("viewer read master users")
