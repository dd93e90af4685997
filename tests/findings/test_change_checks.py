"""The checks that read Keycloak besides sessions: users who are gone, credentials changed
after a session began, disabled clients and rotated secrets. Each condition is made in the
emulator through the admin API, as an admin would; the finding appears and then clears."""

from datetime import UTC, datetime

import pytest

from tokenadmin.findings.models import Finding, Kind, Severity
from tokenadmin.findings.services import findings_run
from tokenadmin.keycloak import gateway_for_worker
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.django_db

DAY = 86400


def kc_now(kc) -> datetime:
    return datetime.fromtimestamp(kc.now(), tz=UTC)


def check(kc, *, refresh: bool = True) -> dict[str, int]:
    if refresh:
        assert realm_index_refresh(realm="mlflow").state == "done"
    return findings_run(realm="mlflow", gateway=gateway_for_worker(), now=kc_now(kc))


def open_of(kind: str, subject: str | None = None) -> list[Finding]:
    found = Finding.objects.filter(realm="mlflow", kind=kind, closed_at__isnull=True)
    return list(found.filter(subject=subject) if subject else found)


def new_user(kc, username: str) -> str:
    return kc.admin("mlflow").create_user({"username": username, "enabled": True})


def test_sessions_of_a_deleted_user_are_found_until_the_index_drops_them(kc):
    admin = kc.admin("mlflow")
    subject = new_user(kc, "gone")
    kc.create_session(realm="mlflow", username="gone", client_id="mlflow")
    kc.create_session(realm="mlflow", username="gone", client_id="mlflow", offline=True)
    check(kc)
    assert open_of(Kind.MISSING_USER) == []  # every user with sessions exists

    # Deleted (as a federation or an identity provider removes a user) after the last refresh:
    # the index still lists its sessions.
    admin.delete_user(subject)
    check(kc, refresh=False)
    [finding] = open_of(Kind.MISSING_USER)
    assert finding.subject == subject
    assert finding.severity == Severity.HIGH
    assert len(finding.sessions) == 2
    assert "gone no longer exists in Keycloak but 2 of its session(s)" in finding.explanation

    assert check(kc)["closed"] >= 1  # Keycloak dropped them with the user; the refresh too
    assert open_of(Kind.MISSING_USER) == []


def test_service_account_sessions_are_not_taken_for_missing_users(kc):
    # The user list leaves out service-account users; each candidate is asked for by id.
    admin = kc.admin("mlflow")
    uuid = admin.create_client(
        {"clientId": "robot", "serviceAccountsEnabled": True, "publicClient": False}
    )
    robot = admin.get_client_service_account_user(uuid)
    assert robot["id"] not in {u["id"] for u in admin.get_users({"briefRepresentation": True})}
    kc.create_session(realm="mlflow", username=robot["username"], client_id="robot")
    check(kc)
    assert open_of(Kind.MISSING_USER) == []


def events_on(kc, *, user: bool = True, admin: bool = True) -> None:
    kc.admin("mlflow").update_realm("mlflow", {"eventsEnabled": user, "adminEventsEnabled": admin})


def test_sessions_older_than_an_admin_password_reset_are_found_offline_ones_included(kc):
    events_on(kc)
    admin = kc.admin("mlflow")
    subject = new_user(kc, "resetme")
    now = kc.now()
    old = kc.create_session(
        realm="mlflow", username="resetme", client_id="mlflow", start=now - 7200, last_access=now
    )
    old_offline = kc.create_session(
        realm="mlflow", username="resetme", client_id="mlflow", offline=True, start=now - DAY
    )
    check(kc)
    assert open_of(Kind.CREDENTIAL_CHANGED) == []

    kc.advance(60)
    admin.set_user_password(subject, "a-new-password", temporary=False)
    kc.advance(60)
    after = kc.create_session(realm="mlflow", username="resetme", client_id="mlflow")
    check(kc)
    [finding] = open_of(Kind.CREDENTIAL_CHANGED, subject)
    assert sorted(finding.sessions) == sorted([old["id"], f"{old_offline['id']}:offline"])
    assert after["id"] not in finding.sessions
    assert finding.severity == Severity.HIGH
    assert "resetme had their password reset by an admin on" in finding.explanation
    assert "2 session(s) begun before it are still live, 1 of them offline" in (finding.explanation)

    admin.user_logout(subject)  # online sessions only: the offline one survives a logout
    check(kc)
    [finding] = open_of(Kind.CREDENTIAL_CHANGED, subject)
    assert finding.sessions == [f"{old_offline['id']}:offline"]
    admin.connection.raw_delete(
        f"admin/realms/mlflow/sessions/{old_offline['id']}", isOffline="true"
    )
    check(kc)
    assert open_of(Kind.CREDENTIAL_CHANGED) == []


def test_a_password_change_the_realm_did_not_save_is_not_seen(kc):
    events_on(kc, user=False, admin=False)
    admin = kc.admin("mlflow")
    subject = new_user(kc, "unsaved")
    kc.create_session(
        realm="mlflow", username="unsaved", client_id="mlflow", offline=True, start=kc.now() - DAY
    )
    admin.set_user_password(subject, "another-password", temporary=False)
    check(kc)
    assert open_of(Kind.CREDENTIAL_CHANGED) == []


def test_when_keycloak_refuses_the_events_the_credential_findings_stay_open(kc):
    events_on(kc)
    subject = new_user(kc, "kept")
    kc.create_session(
        realm="mlflow", username="kept", client_id="mlflow", offline=True, start=kc.now() - DAY
    )
    kc.admin("mlflow").set_user_password(subject, "changed-password", temporary=False)
    check(kc)
    [finding] = open_of(Kind.CREDENTIAL_CHANGED, subject)

    kc.fault("/admin/realms/mlflow/admin-events", status=403)
    try:
        assert check(kc, refresh=False)["closed"] == 0
    finally:
        kc.clear_faults()
    assert open_of(Kind.CREDENTIAL_CHANGED, subject) == [finding]


def client_uuid(kc, client_id: str) -> str:
    return kc.admin("mlflow").get_client_id(client_id)


def test_sessions_of_a_disabled_client_are_found_and_clear_when_it_is_enabled_again(kc):
    admin = kc.admin("mlflow")
    new_user(kc, "clientele")
    admin.create_client({"clientId": "reports", "publicClient": False})
    uuid = client_uuid(kc, "reports")
    made = kc.create_session(realm="mlflow", username="clientele", client_id="reports")
    check(kc)
    assert open_of(Kind.CLIENT_DISABLED) == []

    admin.update_client(uuid, {"enabled": False})
    check(kc)
    [finding] = open_of(Kind.CLIENT_DISABLED, uuid)
    assert finding.subject_label == "reports"
    assert finding.sessions == [made["id"]]
    assert "The client reports is disabled but 1 session(s)" in finding.explanation

    admin.update_client(uuid, {"enabled": True})
    check(kc)
    assert open_of(Kind.CLIENT_DISABLED) == []


def test_sessions_older_than_a_regenerated_secret_are_found_until_they_end(kc):
    admin = kc.admin("mlflow")
    new_user(kc, "rotated")
    admin.create_client({"clientId": "billing", "publicClient": False})
    uuid = client_uuid(kc, "billing")
    kc.advance(60)
    before = kc.create_session(realm="mlflow", username="rotated", client_id="billing")
    check(kc)
    assert open_of(Kind.SECRET_ROTATED) == []  # its secret is older than the session

    kc.advance(60)
    admin.generate_client_secrets(uuid)
    attributes = admin.get_client(uuid)["attributes"]
    assert int(attributes["client.secret.creation.time"]) == kc.now()
    kc.advance(60)
    after = kc.create_session(realm="mlflow", username="rotated", client_id="billing")
    check(kc)
    [finding] = open_of(Kind.SECRET_ROTATED, uuid)
    assert finding.sessions == [before["id"]]
    assert after["id"] not in finding.sessions
    assert "The secret of billing was regenerated on" in finding.explanation

    admin.connection.raw_delete(f"admin/realms/mlflow/sessions/{before['id']}")
    check(kc)
    assert open_of(Kind.SECRET_ROTATED) == []


def browser_login_updating_password(kc, username: str, old: str, new: str) -> None:
    """Sign in through the login form as a user told to update their password, and do so."""
    import re
    from html import unescape

    import requests

    session = requests.Session()
    page = session.get(
        f"{kc.base_url}/realms/mlflow/protocol/openid-connect/auth",
        params={
            "client_id": "mlflow",
            "response_type": "code",
            "redirect_uri": "http://127.0.0.1/callback",
            "scope": "openid",
        },
        timeout=10,
    )

    def action(html: str) -> str:
        return unescape(re.search(r'<form[^>]*action="([^"]+)"', html).group(1))

    form = session.post(action(page.text), data={"username": username, "password": old})
    assert "Update password" in form.text
    done = session.post(
        action(form.text),
        data={"password-new": new, "password-confirm": new},
        allow_redirects=False,
    )
    assert done.status_code == 302 and "code=" in done.headers["Location"]


def test_sessions_older_than_a_password_the_user_changed_at_login_are_found(kc):
    events_on(kc, user=True, admin=False)  # only the user events: the change is the user's
    admin = kc.admin("mlflow")
    subject = new_user(kc, "changer")
    admin.set_user_password(subject, "temporary-pw", temporary=True)
    old = kc.create_session(
        realm="mlflow", username="changer", client_id="mlflow", offline=True, start=kc.now() - DAY
    )
    kc.advance(60)
    browser_login_updating_password(kc, "changer", "temporary-pw", "chosen-pw")
    check(kc)
    [finding] = open_of(Kind.CREDENTIAL_CHANGED, subject)
    assert finding.sessions == [f"{old['id']}:offline"]  # not the session of the login itself
    assert "changer changed " in finding.explanation
