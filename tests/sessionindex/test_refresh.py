"""Refreshing the session index against the emulator: the table holds what Keycloak holds."""

from datetime import UTC, datetime, timedelta

import pytest

from tokenadmin.sessionindex.models import IndexedSession, RealmIndex
from tokenadmin.sessionindex.refresh import (
    realm_index_claim,
    realm_index_refresh,
    realm_index_refresh_all,
)
from tokenadmin.sessionindex.tasks import realm_index_refresh_task

pytestmark = pytest.mark.django_db


def keycloak_counts(admin, realm: str) -> dict[tuple[str, bool], int]:
    """{(clientId, offline): count} from Keycloak's per-client session-count endpoints.

    `admin` logs in before the refresh: its own login is a session in master too.
    """
    counts = {}
    for client in admin.connection.raw_get(f"admin/realms/{realm}/clients").json():
        for offline, kind in ((False, "session-count"), (True, "offline-session-count")):
            path = f"admin/realms/{realm}/clients/{client['id']}/{kind}"
            count = admin.connection.raw_get(path).json()["count"]
            if count:
                counts[(client["clientId"], offline)] = count
    return counts


def index_counts(realm: str) -> dict[tuple[str, bool], int]:
    counts: dict[tuple[str, bool], int] = {}
    for row in IndexedSession.objects.filter(realm=realm):
        for client_id in row.clients.values():
            counts[(client_id, row.offline)] = counts.get((client_id, row.offline), 0) + 1
    return counts


def client_uuid(kc, realm: str, client_id: str) -> str:
    return kc.admin(realm_name=realm).get_client_id(client_id)


def keycloak_holds(kc, realm: str, session_id: str, *, offline: bool, client_id: str) -> bool:
    """Whether Keycloak lists the session under the client (a fresh admin: clocks move)."""
    admin = kc.admin(realm_name=realm)
    kind = "offline-sessions" if offline else "user-sessions"
    path = f"admin/realms/{realm}/clients/{client_uuid(kc, realm, client_id)}/{kind}"
    sessions = admin.connection.raw_get(path, first=0, max=1000).json()
    return any(s["id"] == session_id for s in sessions)


def test_a_refresh_indexes_every_session_keycloak_holds_per_client_and_type(kc):
    kc.seed(realm="mlflow", users=40, sessions=450, offline_ratio=0.3)

    index = realm_index_refresh(realm="mlflow")

    assert index.state == RealmIndex.State.DONE
    assert index_counts("mlflow") == keycloak_counts(kc.admin(), "mlflow")
    rows = IndexedSession.objects.filter(realm="mlflow")
    assert index.sessions_seen == rows.count()
    assert rows.filter(offline=True).exists() and rows.filter(offline=False).exists()
    assert index.progress_done == index.progress_total > 0
    assert index.refreshed_at is not None and not index.error


def test_a_session_listed_under_two_clients_is_one_row_with_both(kc):
    master = "master"

    realm_index_refresh(realm=master)

    both = IndexedSession.objects.get(realm=master, offline=True, ip_address="172.16.5.40")
    assert sorted(both.clients.values()) == ["api-client", "sdk-client"]
    assert both.client_ids_text == " api-client sdk-client "
    assert both.username == "data_scientist"
    assert both.search_text == "data_scientist\n172.16.5.40\n api-client sdk-client "


def test_a_session_keycloak_deleted_vanishes_after_the_next_refresh(kc):
    realm_index_refresh(realm="mlflow")
    rows = IndexedSession.objects.filter(realm="mlflow")
    before = set(rows.values_list("session_id", flat=True))
    gone = rows.filter(username="mlflow_admin").get()
    kc.admin(realm_name="mlflow").connection.raw_delete(
        f"admin/realms/mlflow/sessions/{gone.session_id}"
    )

    realm_index_refresh(realm="mlflow")

    after = set(IndexedSession.objects.filter(realm="mlflow").values_list("session_id", flat=True))
    assert after == before - {gone.session_id}
    assert RealmIndex.objects.get(realm="mlflow").sessions_seen == len(after)


def test_sessions_keycloak_expired_vanish_after_the_next_refresh(kc):
    kc.seed(realm="mlflow", users=10, sessions=60, offline_ratio=0.5)
    realm_index_refresh(realm="mlflow")
    assert IndexedSession.objects.filter(realm="mlflow", offline=False).exists()

    kc.advance(11 * 3600)  # past the 10 h SSO max: every online session is gone
    realm_index_refresh(realm="mlflow")

    assert not IndexedSession.objects.filter(realm="mlflow", offline=False).exists()
    assert index_counts("mlflow") == keycloak_counts(kc.admin(), "mlflow")


def test_keycloak_failing_mid_refresh_marks_failed_and_keeps_the_old_rows(kc):
    kc.seed(realm="mlflow", users=20, sessions=250, offline_ratio=0.3)
    realm_index_refresh(realm="mlflow")
    before = set(IndexedSession.objects.filter(realm="mlflow").values_list("pk", flat=True))
    refreshed_at = RealmIndex.objects.get(realm="mlflow").refreshed_at
    kc.admin(realm_name="mlflow").connection.raw_post(
        "admin/realms/mlflow/logout-all", data=""
    )  # Keycloak now holds no online session
    kc.fault(path=r"/offline-sessions$", status=503)

    index = realm_index_refresh(realm="mlflow")

    assert index.state == RealmIndex.State.FAILED
    assert index.error == (
        "Keycloak is unreachable or failing while trying to "
        "list the sessions of a client of mlflow."
    )
    assert index.refreshed_at == refreshed_at
    after = set(IndexedSession.objects.filter(realm="mlflow").values_list("pk", flat=True))
    assert after == before
    assert index.sessions_seen == len(before)

    kc.clear_faults()
    index = realm_index_refresh(realm="mlflow")

    assert index.state == RealmIndex.State.DONE and not index.error
    assert not IndexedSession.objects.filter(realm="mlflow", offline=False).exists()


def test_keycloak_down_before_paging_marks_failed(kc):
    kc.fault(path=r"/admin/realms/mlflow$", status=503)

    index = realm_index_refresh(realm="mlflow")

    assert index.state == RealmIndex.State.FAILED
    assert "read the settings of realm mlflow" in index.error


def test_a_second_refresh_while_one_runs_starts_nothing(kc):
    claimed_at = realm_index_claim(realm="mlflow")

    assert realm_index_claim(realm="mlflow") is None
    index = realm_index_refresh(realm="mlflow")

    assert index.state == RealmIndex.State.RUNNING
    assert not IndexedSession.objects.filter(realm="mlflow").exists()
    index = realm_index_refresh(realm="mlflow", claimed_at=claimed_at)
    assert index.state == RealmIndex.State.DONE


def create_session(kc, *, ago_s: int, idle_s: int, **body) -> str:
    now = kc.now()
    return kc.create_session(
        realm="mlflow",
        username="mlflow_user",
        client_id="mlflow",
        start=now - ago_s,
        last_access=now - idle_s,
        **body,
    )["id"]


def expiry_of(session_id: str, *, offline: bool) -> int:
    row = IndexedSession.objects.get(realm="mlflow", session_id=session_id, offline=offline)
    return int(row.expires_at.timestamp())


@pytest.mark.parametrize(
    ("case", "realm_settings", "client_attributes", "session"),
    [
        ("online, idle bound", {"ssoSessionIdleTimeout": 900}, {}, {"ago_s": 600, "idle_s": 300}),
        ("online, max bound", {"ssoSessionMaxLifespan": 3600}, {}, {"ago_s": 3000, "idle_s": 10}),
        (
            "remember-me",
            {"ssoSessionIdleTimeoutRememberMe": 7200},
            {},
            {"ago_s": 600, "idle_s": 60, "remember_me": True},
        ),
        (
            "offline with a client idle override",
            {},
            {"client.offline.session.idle.timeout": "5000"},
            {"ago_s": 9000, "idle_s": 1000, "offline": True},
        ),
        (
            "offline with the realm max enabled",
            {"offlineSessionMaxLifespanEnabled": True, "offlineSessionMaxLifespan": 20000},
            {},
            {"ago_s": 15000, "idle_s": 10, "offline": True},
        ),
    ],
)
def test_predicted_expiry_is_when_keycloak_drops_the_session(
    kc, case, realm_settings, client_attributes, session
):
    admin = kc.admin(realm_name="mlflow")
    if realm_settings:
        admin.update_realm("mlflow", {**admin.get_realm("mlflow"), **realm_settings})
    if client_attributes:
        uuid = admin.get_client_id("mlflow")
        rep = admin.get_client(uuid)
        admin.update_client(uuid, {**rep, "attributes": {**rep["attributes"], **client_attributes}})
    offline = bool(session.get("offline"))
    session_id = create_session(kc, **session)

    realm_index_refresh(realm="mlflow")
    expires = expiry_of(session_id, offline=offline)

    kc.set_clock(expires - 1)
    assert keycloak_holds(kc, "mlflow", session_id, offline=offline, client_id="mlflow"), case
    kc.set_clock(expires + 1)
    assert not keycloak_holds(kc, "mlflow", session_id, offline=offline, client_id="mlflow"), case


def test_the_task_refreshes_through_a_real_worker(kc, celery_worker):
    kc.seed(realm="mlflow", users=10, sessions=120)

    state = realm_index_refresh_task.delay("mlflow").get(timeout=60)

    assert state == RealmIndex.State.DONE
    assert index_counts("mlflow") == keycloak_counts(kc.admin(), "mlflow")
    assert RealmIndex.objects.get(realm="mlflow").refreshed_at > datetime.now(UTC) - timedelta(
        minutes=1
    )


def test_the_schedule_refreshes_every_realm_the_worker_sees(kc):
    admin = kc.admin()
    admin.connection.get_token()

    indexes = realm_index_refresh_all()

    assert {index.realm: index.state for index in indexes} == {
        "master": RealmIndex.State.DONE,
        "mlflow": RealmIndex.State.DONE,
    }
    assert index_counts("master") == keycloak_counts(admin, "master")


def test_new_lifespans_move_the_expiry_of_sessions_that_did_not_change(kc):
    realm_index_refresh(realm="mlflow")
    before = dict(
        IndexedSession.objects.filter(realm="mlflow", remember_me=False).values_list(
            "session_id", "expires_at"
        )
    )
    admin = kc.admin(realm_name="mlflow")
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "ssoSessionIdleTimeout": 600})

    index = realm_index_refresh(realm="mlflow")

    rows = IndexedSession.objects.filter(realm="mlflow")
    for row in rows.filter(remember_me=False):
        assert row.expires_at < before[row.session_id]
        assert row.expires_at == row.last_access_at + timedelta(seconds=600)
    assert {row.last_seen_at(index.refreshed_at) for row in rows} == {index.refreshed_at}


def test_a_session_used_since_the_last_refresh_gets_its_new_last_access_and_expiry(kc):
    oidc = kc.openid("mlflow", "mlflow", "mlflow-secret")
    tokens = oidc.token("mlflow_user", "mlflow_user")
    first = realm_index_refresh(realm="mlflow")
    row = IndexedSession.objects.get(realm="mlflow", session_id=tokens["session_state"])
    idle_s = int((row.expires_at - row.last_access_at).total_seconds())
    untouched = IndexedSession.objects.exclude(pk=row.pk).filter(realm="mlflow")
    untouched_before = {r.pk: (r.last_access_at, r.expires_at, r.seen_at) for r in untouched}

    last_access_before = row.last_access_at
    kc.advance(120)
    used_at = kc.now()
    oidc.refresh_token(tokens["refresh_token"])  # the user's app refreshes: a used session
    second = realm_index_refresh(realm="mlflow")

    row.refresh_from_db()
    assert row.last_access_at >= datetime.fromtimestamp(used_at, tz=UTC)
    assert row.last_access_at >= last_access_before + timedelta(seconds=120)
    assert row.expires_at == row.last_access_at + timedelta(seconds=idle_s)
    assert row.seen_at == second.refreshed_at
    # The others were not written again, yet they count as seen by the second refresh.
    assert {r.pk: (r.last_access_at, r.expires_at, r.seen_at) for r in untouched} == (
        untouched_before
    )
    assert {r.seen_at for r in untouched} == {first.refreshed_at}
    assert {r.last_seen_at(second.refreshed_at) for r in untouched} == {second.refreshed_at}


def test_a_session_seen_in_two_clients_keeps_both_when_written_page_by_page(kc, monkeypatch):
    from tokenadmin.sessionindex import refresh

    admin = kc.admin()
    admin.connection.get_token()  # its own session exists before the refreshes
    monkeypatch.setattr(refresh, "WRITE_BATCH", 1)  # write after every page
    for _ in range(2):  # the second refresh compares with what the first stored
        realm_index_refresh(realm="master", concurrency=1)

    both = IndexedSession.objects.get(realm="master", offline=True, ip_address="172.16.5.40")
    assert sorted(both.clients.values()) == ["api-client", "sdk-client"]
    # Rewritten with the second client's list: the search text follows (the upsert's SQL).
    assert both.search_text == "data_scientist\n172.16.5.40\n api-client sdk-client "
    assert index_counts("master") == keycloak_counts(admin, "master")


def test_a_refresh_after_a_delete_leaves_unchanged_rows_alone_until_the_lifespans_change(
    kc, monkeypatch
):
    kc.seed(realm="mlflow", users=10, sessions=80, offline_ratio=0.3)
    first = realm_index_refresh(realm="mlflow")
    gone = IndexedSession.objects.get(realm="mlflow", username="mlflow_admin")
    kc.admin().connection.raw_delete(f"admin/realms/mlflow/sessions/{gone.session_id}")
    calls = expiries_counted(monkeypatch)

    second = realm_index_refresh(realm="mlflow")

    rows = IndexedSession.objects.filter(realm="mlflow")
    assert not rows.filter(session_id=gone.session_id).exists()
    assert rows.count() == second.sessions_seen
    assert index_counts("mlflow") == keycloak_counts(kc.admin(), "mlflow")
    assert calls == []  # nothing changed: no expiry computed, no row written
    assert {row.seen_at for row in rows} == {first.refreshed_at}

    admin = kc.admin(realm_name="mlflow")
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "ssoSessionIdleTimeout": 600})
    third = realm_index_refresh(realm="mlflow")
    assert len(calls) == third.sessions_seen
    for row in rows.filter(offline=False, remember_me=False):
        assert row.expires_at == row.last_access_at + timedelta(seconds=600)
        assert row.seen_at == third.refreshed_at


def expiries_counted(monkeypatch) -> list[str]:
    """The session ids whose expiry the refreshes compute from now on."""
    from tokenadmin.sessionindex import refresh_merge

    calls: list[str] = []
    compute = refresh_merge._Merger._expiry

    def counting(self, entry):
        calls.append(entry.first.id)
        return compute(self, entry)

    monkeypatch.setattr(refresh_merge._Merger, "_expiry", counting)
    return calls


def test_only_sessions_whose_inputs_or_lifespans_changed_get_their_expiry_computed(kc, monkeypatch):
    kc.seed(realm="mlflow", users=10, sessions=80, offline_ratio=0.3)
    realm_index_refresh(realm="mlflow")
    stored = dict(IndexedSession.objects.filter(realm="mlflow").values_list("pk", "expires_at"))
    calls = expiries_counted(monkeypatch)

    realm_index_refresh(realm="mlflow")
    assert calls == []
    assert dict(IndexedSession.objects.filter(realm="mlflow").values_list("pk", "expires_at")) == (
        stored
    )

    new = create_session(kc, ago_s=60, idle_s=10)
    realm_index_refresh(realm="mlflow")
    assert calls == [new]

    calls.clear()
    admin = kc.admin(realm_name="mlflow")
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "ssoSessionIdleTimeout": 600})
    index = realm_index_refresh(realm="mlflow")
    assert len(calls) == index.sessions_seen

    calls.clear()
    uuid = admin.get_client_id("mlflow")
    rep = admin.get_client(uuid)
    attributes = {**rep["attributes"], "client.offline.session.idle.timeout": "5000"}
    admin.update_client(uuid, {**rep, "attributes": attributes})
    index = realm_index_refresh(realm="mlflow")
    assert len(calls) == index.sessions_seen


def test_a_refresh_failing_after_new_lifespans_leaves_the_next_one_to_recompute_all(
    kc, monkeypatch
):
    kc.seed(realm="mlflow", users=10, sessions=80, offline_ratio=0.3)
    realm_index_refresh(realm="mlflow")
    assert RealmIndex.objects.get(realm="mlflow").lifespans_fingerprint
    admin = kc.admin(realm_name="mlflow")
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "ssoSessionIdleTimeout": 600})
    kc.fault(path=r"/offline-sessions$", status=503)

    index = realm_index_refresh(realm="mlflow")

    assert index.state == RealmIndex.State.FAILED
    assert index.lifespans_fingerprint == ""
    kc.clear_faults()
    calls = expiries_counted(monkeypatch)
    index = realm_index_refresh(realm="mlflow")
    assert index.state == RealmIndex.State.DONE
    assert len(calls) == index.sessions_seen
    for row in IndexedSession.objects.filter(realm="mlflow", offline=False, remember_me=False):
        assert row.expires_at == row.last_access_at + timedelta(seconds=600)


def secondary_indexes() -> set[str]:
    from django.db import connection

    table = IndexedSession._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name for name in constraints if name.startswith("idx_sess_")}


def rows_of(realm: str) -> list[tuple]:
    fields = ["session_id", "offline", "user_id", "username", "ip_address", "started_at"]
    fields += ["last_access_at", "remember_me", "clients", "client_ids_text", "expires_at"]
    return sorted(
        IndexedSession.objects.filter(realm=realm).order_by().values_list(*fields, "search_text")
    )


def test_a_large_first_fill_writes_without_the_indexes_then_builds_them(kc, monkeypatch):
    from tokenadmin.sessionindex import refresh, refresh_fill

    all_indexes = secondary_indexes()
    assert {index.name for index in IndexedSession._meta.indexes} <= all_indexes
    realm_index_refresh(realm="mlflow")  # the usual way: indexes kept
    usual = rows_of("mlflow")
    IndexedSession.objects.filter(realm="mlflow").delete()
    RealmIndex.objects.filter(realm="mlflow").delete()

    monkeypatch.setattr(refresh_fill, "FILL_INDEXES_DROPPED_MIN", 1)
    monkeypatch.setattr(refresh, "WRITE_BATCH", 1)  # written page by page, without them
    during = []
    batch_write = refresh._batch_write

    def watched(**kwargs):
        during.append(secondary_indexes())
        return batch_write(**kwargs)

    monkeypatch.setattr(refresh, "_batch_write", watched)
    index = realm_index_refresh(realm="mlflow")

    assert index.state == RealmIndex.State.DONE
    assert during and all(names == set() for names in during)
    assert secondary_indexes() == all_indexes
    assert rows_of("mlflow") == usual
    assert len(usual) >= 3


def test_a_first_fill_that_stops_half_way_leaves_every_index_built(kc, monkeypatch):
    from tokenadmin.sessionindex import refresh, refresh_fill

    all_indexes = secondary_indexes()
    monkeypatch.setattr(refresh_fill, "FILL_INDEXES_DROPPED_MIN", 1)
    monkeypatch.setattr(refresh, "WRITE_BATCH", 5)

    def fail(**kwargs):
        # The fill ran without them.
        assert secondary_indexes() == set()
        raise RuntimeError("worker stopped")

    monkeypatch.setattr(refresh, "_refresh_finish", fail)
    with pytest.raises(RuntimeError):
        realm_index_refresh(realm="mlflow")

    assert secondary_indexes() == all_indexes
    assert RealmIndex.objects.get(realm="mlflow").state == RealmIndex.State.FAILED


@pytest.mark.sqlite_only
def test_the_index_builds_leave_the_connections_page_cache_as_they_found_it(monkeypatch):
    from django.db import connection

    from tokenadmin.sessionindex import refresh_fill, refresh_store

    def cache_size() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    all_indexes = secondary_indexes()
    monkeypatch.setattr(refresh_fill, "FILL_INDEXES_DROPPED_MIN", 1)
    assert refresh_fill.fill_indexes_drop(realm="mlflow", expected=10)
    assert secondary_indexes() == set()
    before = cache_size()
    assert before != -refresh_store.WHOLE_TABLE_CACHE_KIB

    assert refresh_fill.fill_indexes_build() == len(all_indexes)

    assert secondary_indexes() == all_indexes
    assert cache_size() == before
