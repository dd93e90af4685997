import pytest
from keycloak.exceptions import KeycloakError

from tokenadmin.keycloak import Forbidden
from tokenadmin.ledger.models import Action, LedgerEntry, Outcome
from tokenadmin.revocation.outcomes import OWN_SESSION_REFUSED, RevocationRefused
from tokenadmin.revocation.realmwide import realm_sign_out
from tokenadmin.revocation.services import (
    consent_revoke,
    offline_session_revoke,
    session_revoke,
    user_sign_out,
)
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.refresh import realm_index_refresh


def refresh_fails(kc, session) -> bool:
    openid = kc.openid(session.realm, "mlflow", "mlflow-secret")
    try:
        openid.refresh_token(session.tokens["refresh_token"])
    except KeycloakError:
        return True
    return False


def online_ids(kc, realm, user_id):
    return {s["id"] for s in kc.admin(realm).get_sessions(user_id)}


def test_a_signed_out_session_is_gone_and_its_refresh_token_fails(kc, acting_as, mlflow_login):
    operator = acting_as("operator")
    session = mlflow_login()

    outcome = session_revoke(
        admin=operator.gateway,
        realm="mlflow",
        user_id=session.user_id,
        session_id=session.session_id,
        actor=operator.user,
        reason="laptop stolen",
        ticket="SEC-1",
    )

    assert session.session_id not in online_ids(kc, "mlflow", session.user_id)
    assert refresh_fails(kc, session)
    assert not outcome.already_gone
    assert "Access tokens already issued to mlflow stay valid for up to 5 min." in (
        outcome.residual_risk
    )
    entry = LedgerEntry.objects.get(pk=outcome.ledger_entry_id)
    assert entry.action == Action.SESSION_REVOKED
    assert entry.actor_username == "operator"
    assert entry.reason == "laptop stolen"
    assert entry.before["id"] == session.session_id
    assert "refresh" not in str(entry.before).lower()


def test_a_session_already_gone_is_reported_as_such(kc, acting_as, mlflow_login):
    operator = acting_as("operator")
    session = mlflow_login()
    kc.admin("mlflow").connection.raw_delete(f"admin/realms/mlflow/sessions/{session.session_id}")

    outcome = session_revoke(
        admin=operator.gateway,
        realm="mlflow",
        user_id=session.user_id,
        session_id=session.session_id,
        actor=operator.user,
    )

    assert outcome.already_gone
    assert LedgerEntry.objects.get(pk=outcome.ledger_entry_id).detail


def test_a_viewer_is_refused_by_keycloak_and_the_refusal_is_recorded(kc, acting_as, mlflow_login):
    viewer = acting_as("viewer")
    session = mlflow_login()

    with pytest.raises(Forbidden):
        session_revoke(
            admin=viewer.gateway,
            realm="mlflow",
            user_id=session.user_id,
            session_id=session.session_id,
            actor=viewer.user,
        )

    assert session.session_id in online_ids(kc, "mlflow", session.user_id)
    assert LedgerEntry.objects.get().outcome == Outcome.FAILED


def test_the_admin_cannot_sign_out_their_own_session(kc, acting_as):
    admin = acting_as("admin")

    with pytest.raises(RevocationRefused) as refused:
        session_revoke(
            admin=admin.gateway,
            realm="master",
            user_id=admin.user.keycloak_sub,
            session_id=admin.session_id,
            actor=admin.user,
            own_session_id=admin.session_id,
        )

    assert refused.value.message == OWN_SESSION_REFUSED
    assert admin.session_id in online_ids(kc, "master", admin.user.keycloak_sub)


def test_revoking_an_offline_session_removes_it_and_its_refresh_fails(kc, acting_as, mlflow_login):
    admin = acting_as("admin")
    kc.admin("mlflow").assign_realm_roles(
        kc.admin("mlflow").get_user_id("mlflow_user"),
        [kc.admin("mlflow").get_realm_role("offline_access")],
    )
    session = mlflow_login(offline=True)

    outcome = offline_session_revoke(
        admin=admin.gateway,
        realm="mlflow",
        user_id=session.user_id,
        session_id=session.session_id,
        actor=admin.user,
    )

    client_uuid = kc.admin("mlflow").get_client_id("mlflow")
    offline = (
        kc.admin("mlflow")
        .connection.raw_get(
            f"admin/realms/mlflow/users/{session.user_id}/offline-sessions/{client_uuid}"
        )
        .json()
    )
    assert offline == []
    assert refresh_fails(kc, session)
    assert outcome.title == "Offline session revoked"


def test_signing_a_user_out_ends_online_sessions_and_stales_offline_ones(
    kc, acting_as, mlflow_login
):
    operator = acting_as("operator")
    first, second = mlflow_login(), mlflow_login()

    outcome = user_sign_out(
        admin=operator.gateway, realm="mlflow", user_id=first.user_id, actor=operator.user
    )

    assert online_ids(kc, "mlflow", first.user_id) == set()
    assert refresh_fails(kc, first) and refresh_fails(kc, second)
    assert LedgerEntry.objects.get().action == Action.USER_SIGNED_OUT
    assert outcome.notes[0].startswith("4 online sessions ended")  # 2 seeded + 2 here


def test_revoking_a_consent_drops_the_users_offline_tokens_for_that_client(kc, acting_as):
    admin = acting_as("admin")
    tokens = kc.password_login(
        "master",
        "api-client",
        "wallaroo_user",
        "wallaroo_user",
        secret="api-client-secret",
        offline=True,
    )
    user_id = kc.admin().get_user_id("wallaroo_user")

    outcome = consent_revoke(
        admin=admin.gateway,
        realm="master",
        user_id=user_id,
        client_id="api-client",
        actor=admin.user,
    )

    consents = kc.admin().connection.raw_get(f"admin/realms/master/users/{user_id}/consents").json()
    assert all(c["clientId"] != "api-client" for c in consents)
    openid = kc.openid("master", "api-client", "api-client-secret")
    with pytest.raises(KeycloakError):
        openid.refresh_token(tokens["refresh_token"])
    assert "Access tokens already issued to api-client stay valid for up to 1 h." in (
        outcome.residual_risk
    )


def test_a_realm_wide_sign_out_states_each_lifespan_once(kc, acting_as):
    admin = acting_as("admin")

    outcome = realm_sign_out(admin=admin.gateway, realm="mlflow", actor=admin.user, reason="breach")

    assert outcome.residual_risk == [
        "Access tokens already issued in mlflow stay valid for up to 5 min "
        "(the realm's access token lifespan)."
    ]
    assert kc.admin("mlflow").get_realm("mlflow")["notBefore"] > 0


@pytest.mark.django_db(transaction=True)
def test_a_realm_wide_sign_out_ends_offline_sessions_in_keycloak_and_in_the_index(
    kc, acting_as, mlflow_login
):
    admin = acting_as("admin")
    offline = mlflow_login(offline=True)
    realm_index_refresh(realm="mlflow")
    assert IndexedSession.objects.filter(realm="mlflow", offline=True).exists()

    outcome = realm_sign_out(admin=admin.gateway, realm="mlflow", actor=admin.user, reason="breach")

    assert "Offline sessions of the realm were ended too." in outcome.notes
    assert not IndexedSession.objects.filter(realm="mlflow").exists()
    assert refresh_fails(kc, offline)
    client_uuid = kc.admin("mlflow").get_client_id("mlflow")
    held = kc.admin("mlflow").connection.raw_get(
        f"admin/realms/mlflow/users/{offline.user_id}/offline-sessions/{client_uuid}"
    )
    assert held.json() == []
