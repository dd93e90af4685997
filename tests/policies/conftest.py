"""Helpers for the policies' tests: conditions made in the emulator, what Keycloak holds."""

from datetime import UTC, datetime

import pytest

from tests.revocation.conftest import acting_as  # noqa: F401 (the cast's own logins)
from tokenadmin.findings.services import findings_run, realm_thresholds_set
from tokenadmin.policies.models import Policy
from tokenadmin.sessionindex.refresh import realm_index_refresh

DAY = 86400


def kc_now(kc) -> datetime:
    return datetime.fromtimestamp(kc.now(), tz=UTC)


def refresh_and_check(kc, realm: str = "mlflow") -> None:
    assert realm_index_refresh(realm=realm).state == "done"
    findings_run(realm=realm, now=kc_now(kc))


def held_by_keycloak(kc, realm: str, user_id: str, client_id: str) -> set[str]:
    """Every session Keycloak holds for the user now, as findings name them."""
    admin = kc.admin(realm)
    online = {s["id"] for s in admin.get_sessions(user_id)}
    uuid = admin.get_client_id(client_id)
    path = f"admin/realms/{realm}/users/{user_id}/offline-sessions/{uuid}"
    offline = {f"{s['id']}:offline" for s in admin.connection.raw_get(path).json()}
    return online | offline


@pytest.fixture
def idle_offline(kc):
    """User `idler` in mlflow with three offline sessions idle 20 days and one used today, and
    user `keeper` with one idle 2 days (under the threshold). Returns (user id, idle keys,
    every key of idler, keeper's id)."""
    admin = kc.admin("mlflow")
    idler = admin.create_user({"username": "idler", "enabled": True})
    keeper = admin.create_user({"username": "keeper", "enabled": True})
    now = kc.now()
    idle = {
        kc.create_session(
            realm="mlflow",
            username="idler",
            client_id="mlflow",
            offline=True,
            start=now - 40 * DAY,
            last_access=now - 20 * DAY,
        )["id"]
        + ":offline"
        for _ in range(3)
    }
    kc.create_session(realm="mlflow", username="idler", client_id="mlflow", offline=True)
    kc.create_session(realm="mlflow", username="idler", client_id="mlflow")
    kc.create_session(
        realm="mlflow",
        username="keeper",
        client_id="mlflow",
        offline=True,
        last_access=now - 2 * DAY,
    )
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=50, max_addresses_per_user=50
    )
    refresh_and_check(kc)
    before = held_by_keycloak(kc, "mlflow", idler, "mlflow")
    assert idle < before and len(before) == 5
    return idler, idle, before, keeper


def policy_make(realm: str = "mlflow", **fields) -> Policy:
    values = {"name": "idle offline", "kind": "offline_idle", "max_share_percent": 100, **fields}
    return Policy.objects.create(realm=realm, created_by="operator", **values)
