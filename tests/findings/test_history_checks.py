"""A jump in the session count against the recent refreshes, and lifespan drift as a finding:
made with real refreshes of the emulator's realm and real changes to its lifespans."""

from datetime import UTC, datetime

import pytest

from tokenadmin.findings.models import Finding, Kind, Severity
from tokenadmin.findings.services import findings_run, realm_thresholds_set
from tokenadmin.history.models import HistoryPoint
from tokenadmin.keycloak import gateway_for_worker
from tokenadmin.lifespans.catalog import lifespan_values_of
from tokenadmin.lifespans.drift import lifespans_drift_check
from tokenadmin.lifespans.services import realm_lifespans_update
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.django_db


def kc_now(kc) -> datetime:
    return datetime.fromtimestamp(kc.now(), tz=UTC)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the refresh's on-commit work (the history point) as a committed refresh does."""
    return django_capture_on_commit_callbacks


def refreshed_and_checked(kc, on_commit) -> dict[str, int]:
    with on_commit(execute=True):
        assert realm_index_refresh(realm="mlflow").state == "done"
    return findings_run(realm="mlflow", now=kc_now(kc))


def open_of(kind: str) -> dict[str, Finding]:
    found = Finding.objects.filter(realm="mlflow", kind=kind, closed_at__isnull=True)
    return {f.subject: f for f in found}


def test_a_jump_in_the_realms_and_a_clients_count_is_found_and_clears_when_it_settles(
    kc, on_commit
):
    realm_thresholds_set(
        realm="mlflow",
        offline_idle_days=14,
        max_sessions_per_user=1000,
        max_addresses_per_user=1000,
        count_jump_percent=50,
        count_jump_min=20,
    )
    crowd = kc.admin("mlflow").create_user({"username": "crowd", "enabled": True})
    for _ in range(4):  # a steady history
        refreshed_and_checked(kc, on_commit)
    assert HistoryPoint.objects.filter(realm="mlflow").count() == 4
    assert open_of(Kind.COUNT_JUMP) == {}

    for n in range(40):
        kc.create_session(realm="mlflow", username="crowd", client_id="mlflow", ip=f"10.1.0.{n}")
    refreshed_and_checked(kc, on_commit)
    jumps = open_of(Kind.COUNT_JUMP)
    assert set(jumps) == {"realm", "client:mlflow"}
    realm_jump = jumps["realm"]
    assert realm_jump.subject_label == "realm mlflow"
    assert realm_jump.severity == Severity.MEDIUM
    assert "The sessions of realm mlflow rose to" in realm_jump.explanation
    assert "over the 4 refreshes before, a change of +40" in realm_jump.explanation

    # A higher minimum: the same jump is no longer news.
    realm_thresholds_set(
        realm="mlflow",
        offline_idle_days=14,
        max_sessions_per_user=1000,
        max_addresses_per_user=1000,
        count_jump_percent=50,
        count_jump_min=100,
    )
    assert findings_run(realm="mlflow", now=kc_now(kc))["closed"] == 2
    assert open_of(Kind.COUNT_JUMP) == {}

    # Back to the lower minimum, the crowd signs out: the count is back at its median.
    realm_thresholds_set(
        realm="mlflow",
        offline_idle_days=14,
        max_sessions_per_user=1000,
        max_addresses_per_user=1000,
        count_jump_percent=50,
        count_jump_min=20,
    )
    kc.admin("mlflow").user_logout(crowd)
    refreshed_and_checked(kc, on_commit)
    assert open_of(Kind.COUNT_JUMP) == {}


def test_too_little_history_finds_no_jump(kc, on_commit):
    realm_thresholds_set(
        realm="mlflow",
        offline_idle_days=14,
        max_sessions_per_user=1000,
        max_addresses_per_user=1000,
        count_jump_percent=1,
        count_jump_min=1,
    )
    kc.admin("mlflow").create_user({"username": "early", "enabled": True})
    refreshed_and_checked(kc, on_commit)
    kc.create_session(realm="mlflow", username="early", client_id="mlflow")
    refreshed_and_checked(kc, on_commit)
    assert open_of(Kind.COUNT_JUMP) == {}  # 1 refresh before: no median worth the name


def test_lifespan_drift_is_a_finding_until_it_is_rolled_back(kc):
    gateway = gateway_for_worker()
    assert lifespans_drift_check(gateway=gateway, realm="mlflow") is None  # the baseline
    findings_run(realm="mlflow", now=kc_now(kc))
    assert open_of(Kind.LIFESPAN_DRIFT) == {}

    admin = kc.admin()
    approved = lifespan_values_of(gateway.realm_settings("mlflow").lifespans)
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "ssoSessionMaxLifespan": 7200})
    drift = lifespans_drift_check(gateway=gateway, realm="mlflow")
    assert drift is not None
    findings_run(realm="mlflow", now=kc_now(kc))
    finding = open_of(Kind.LIFESPAN_DRIFT)["lifespans"]
    assert finding.subject_label == "mlflow"
    assert "The lifespans of mlflow were changed outside tokenadmin" in finding.explanation
    assert "ssoSessionMaxLifespan" in finding.explanation
    assert finding.sessions == []

    # Seen again by the watch: still the same open finding.
    assert lifespans_drift_check(gateway=gateway, realm="mlflow") == drift
    assert findings_run(realm="mlflow", now=kc_now(kc))["kept"] == 1

    current = lifespan_values_of(gateway.realm_settings("mlflow").lifespans)
    realm_lifespans_update(
        gateway=gateway,
        realm="mlflow",
        values=approved,
        loaded=current,
        actor=None,
        rollback_of=drift,
    )
    findings_run(realm="mlflow", now=kc_now(kc))
    assert open_of(Kind.LIFESPAN_DRIFT) == {}
