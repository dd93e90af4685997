"""The index refresh under faults: sessions expiring between pages, revocations during a
refresh, refreshes started twice at once, a worker killed mid-refresh."""

import pytest

from tokenadmin.sessionindex.models import IndexedSession, RealmIndex
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.django_db

SESSION_LISTS = r"/clients/[^/]+/(user|offline)-sessions$"


def keycloak_sessions(kc, realm: str) -> set[tuple[str, bool]]:
    """Every (session id, offline) Keycloak lists under some client of the realm, read whole."""
    admin = kc.admin(realm_name=realm)
    held = set()
    for client in admin.connection.raw_get(f"admin/realms/{realm}/clients").json():
        for offline, kind in ((False, "user-sessions"), (True, "offline-sessions")):
            path = f"admin/realms/{realm}/clients/{client['id']}/{kind}"
            for rep in admin.connection.raw_get(path, first=0, max=1_000_000).json():
                held.add((rep["id"], offline))
    return held


def indexed(realm: str) -> set[tuple[str, bool]]:
    return set(IndexedSession.objects.filter(realm=realm).values_list("session_id", "offline"))


def test_sessions_alive_the_whole_refresh_are_indexed_while_others_expire_between_pages(kc):
    kc.seed(realm="mlflow", users=500, sessions=12000, offline_ratio=0.2)
    before = keycloak_sessions(kc, "mlflow")
    # Every page read ends 7 random sessions first: the lists shrink between pages.
    kc.fault(path=SESSION_LISTS, method="GET", expire_sessions=7)

    index = realm_index_refresh(realm="mlflow")

    kc.clear_faults()
    after = keycloak_sessions(kc, "mlflow")
    assert index.state == RealmIndex.State.DONE
    assert 500 < len(before - after)  # the churn was real
    missing = after - indexed("mlflow")
    print(f"{len(before)} before, {len(after)} alive all along, {len(missing)} missing")
    assert not missing
    # And nothing that Keycloak never held.
    assert indexed("mlflow") <= before
