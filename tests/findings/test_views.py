"""The findings page as admins use it: what they see, muting (in the ledger), thresholds with
bad input, and the one-click path into the revocation preview with the reason pre-filled."""

import html
import re

import pytest
from django.urls import reverse

from tokenadmin.findings.models import Finding, Kind, RealmThresholds
from tokenadmin.findings.services import findings_run, realm_thresholds_set
from tokenadmin.ledger.models import LedgerEntry
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.django_db


def seen(content: bytes) -> str:
    """The page's text as read: tags out, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())


def busy_user_finding(kc) -> Finding:
    kc.admin("mlflow").create_user({"username": "busy", "enabled": True})
    for n in range(3):
        kc.create_session(realm="mlflow", username="busy", client_id="mlflow", ip=f"10.9.0.{n}")
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=2, max_addresses_per_user=50
    )
    assert realm_index_refresh(realm="mlflow").state == "done"
    findings_run(realm="mlflow")
    return Finding.objects.get(kind=Kind.MANY_SESSIONS, subject_label="busy")


def test_a_viewer_sees_the_finding_and_its_sessions_but_no_buttons(kc, client_as):
    finding = busy_user_finding(kc)
    page = client_as("viewer").get(reverse("findings:realm", args=["mlflow"]))

    text = seen(page.content)
    assert page.status_code == 200
    assert "User with many concurrent sessions: busy" in text
    assert "busy has 3 concurrent sessions (more than 2)" in text
    for n in range(3):
        assert f"10.9.0.{n}" in text
    assert b'data-testid="revoke-preview"' not in page.content
    assert b'data-testid="mute"' not in page.content
    assert finding.is_open

    muted = client_as("viewer").post(
        reverse("findings:mute", args=["mlflow", finding.pk]), {"reason": "x"}
    )
    assert muted.status_code == 403
    assert Finding.objects.get(pk=finding.pk).muted_at is None


def test_an_operator_mutes_a_finding_with_a_reason_kept_in_the_ledger(kc, client_as):
    finding = busy_user_finding(kc)
    client = client_as("operator")
    url = reverse("findings:mute", args=["mlflow", finding.pk])

    refused = client.post(url, {"reason": "  "}, follow=True)
    assert "Say why this finding is muted." in refused.content.decode()
    assert not LedgerEntry.objects.exists()

    page = client.post(url, {"reason": "load-test account"}, follow=True)
    text = seen(page.content)
    assert "Finding muted; the ledger keeps the reason." in text
    assert "Muted by operator" in text and "load-test account" in text
    entry = LedgerEntry.objects.get()
    assert (entry.action, entry.realm, entry.reason) == (
        "finding_muted",
        "mlflow",
        "load-test account",
    )
    assert entry.actor_username == "operator"
    assert entry.target_label == "User with many concurrent sessions: busy"


def test_the_revoke_path_opens_the_preview_with_the_sessions_and_the_reason(kc, client_as):
    finding = busy_user_finding(kc)
    client = client_as("operator")
    page = client.get(reverse("findings:realm", args=["mlflow"]))
    assert "Preview revoking these 3 sessions" in seen(page.content)

    preview = client.post(
        reverse("revocation:bulk-preview", args=["mlflow"]),
        {
            "kind": "selection",
            "session": finding.sessions,
            "reason": "Finding: User with many concurrent sessions (busy)",
        },
    )
    text = html.unescape(preview.content.decode())
    assert preview.status_code == 200
    assert 'value="Finding: User with many concurrent sessions (busy)"' in text
    assert "busy" in text


def test_thresholds_refuse_bad_input_with_a_message_and_save_good_input(kc, client_as):
    client = client_as("operator")
    url = reverse("findings:thresholds", args=["mlflow"])
    good = {
        "offline_idle_days": 14,
        "max_sessions_per_user": 5,
        "max_addresses_per_user": 3,
        "count_jump_percent": 40,
        "count_jump_min": 5000,
    }

    bad = client.post(url, {**good, "max_sessions_per_user": "0"})
    assert bad.status_code == 400
    assert "Give a whole number from 1 to 3650." in bad.content.decode()
    too_much = client.post(url, {**good, "count_jump_percent": "5000"})
    assert too_much.status_code == 400
    assert "Give a whole number from 1 to 1000." in too_much.content.decode()
    words = client.post(url, {**good, "offline_idle_days": "ten"})
    assert words.status_code == 400
    assert not RealmThresholds.objects.exists()

    saved = client.post(url, good, follow=True)
    assert "Thresholds saved" in saved.content.decode()
    thresholds = RealmThresholds.objects.get(realm="mlflow")
    assert (thresholds.max_sessions_per_user, thresholds.max_addresses_per_user) == (5, 3)
    assert (thresholds.count_jump_percent, thresholds.count_jump_min) == (40, 5000)


def test_the_page_says_when_the_realm_does_not_save_the_events_the_check_reads(kc, client_as):
    url = reverse("findings:realm", args=["mlflow"])
    admin = kc.admin("mlflow")
    admin.update_realm("mlflow", {"eventsEnabled": False, "adminEventsEnabled": False})
    text = seen(client_as("operator").get(url).content)
    assert "mlflow does not save user events or admin events" in text
    assert "cannot see any change" in text

    admin.update_realm("mlflow", {"eventsEnabled": True, "adminEventsEnabled": False})
    text = seen(client_as("operator").get(url).content)
    assert "mlflow does not save admin events" in text
    assert "cannot see an admin's password resets" in text

    admin.update_realm("mlflow", {"eventsEnabled": True, "adminEventsEnabled": True})
    page = client_as("operator").get(url)
    assert b'data-testid="events-blind"' not in page.content

    kc.fault("/admin/realms/mlflow/events/config", status=403)
    try:
        text = seen(client_as("operator").get(url).content)
    finally:
        kc.clear_faults()
    assert "Keycloak did not say whether mlflow saves its events" in text


def test_a_drift_finding_shows_the_way_to_the_lifespans_page_and_no_preview(kc, client_as):
    from tokenadmin.keycloak import gateway_for_worker
    from tokenadmin.lifespans.drift import lifespans_drift_check

    gateway = gateway_for_worker()
    lifespans_drift_check(gateway=gateway, realm="mlflow")  # the approved baseline
    admin = kc.admin()
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "accessTokenLifespan": 900})
    assert lifespans_drift_check(gateway=gateway, realm="mlflow") is not None
    findings_run(realm="mlflow")

    page = client_as("operator").get(reverse("findings:realm", args=["mlflow"]))
    card = re.search(
        r'<section[^>]*data-kind="lifespan_drift".*?</section>', page.content.decode(), re.S
    ).group(0)
    assert "Lifespans changed outside tokenadmin" in seen(card.encode())
    assert "accessTokenLifespan" in card
    assert 'href="/lifespans/mlflow/"' in card
    assert 'data-testid="revoke-preview"' not in card
    assert 'data-testid="finding-session"' not in card
