"""Paging a realm for the index reads only a few pages ahead of its caller: pages fetched
faster than the refresh takes them wait in memory, so requesting them all up front held a
million sessions at once."""

import threading
import time

import pytest

from tokenadmin.keycloak import gateway_for_worker
from tokenadmin.sessionindex import paging
from tokenadmin.sessionindex.paging import client_pages_iter, page_plans_build

pytestmark = pytest.mark.django_db


class CountingGateway:
    """The worker's real gateway, counting the session pages asked of Keycloak."""

    def __init__(self, gateway, asked: list[int]) -> None:
        self._gateway = gateway
        self.asked = asked

    def twin(self) -> "CountingGateway":
        return CountingGateway(self._gateway.twin(), self.asked)

    def client_sessions_page(self, *args, **kwargs):
        self.asked.append(1)
        return self._gateway.client_sessions_page(*args, **kwargs)


def test_a_slow_caller_has_only_a_few_pages_read_ahead_and_still_gets_every_session(
    kc, monkeypatch
):
    kc.seed(realm="mlflow", users=100, sessions=4000, offline_ratio=0.2)
    monkeypatch.setattr(paging, "READ_AHEAD", 2)
    gateway = gateway_for_worker()
    plans = page_plans_build(
        gateway=gateway, realm="mlflow", clients=gateway.clients_list("mlflow")
    )
    assert sum(plan.expected_pages for plan in plans) > 20
    asked: list[int] = []
    pages = client_pages_iter(
        gateway=CountingGateway(gateway, asked), realm="mlflow", plans=plans, concurrency=2
    )

    first = next(pages)
    time.sleep(1.0)  # a caller busy with its page: the threads must not read on and on
    assert len(asked) <= 2 * 2 + 1

    seen = {(s.id, s.offline) for s in first.sessions}
    for page in pages:
        seen.update((s.id, s.offline) for s in page.sessions)
    everything = {
        (s.id, s.offline)
        for page in client_pages_iter(gateway=gateway, realm="mlflow", plans=plans)
        for s in page.sessions
    }
    assert len(seen) >= 4000 and seen == everything


def paging_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("index-refresh")]


def test_a_caller_that_stops_early_leaves_no_thread_reading(kc):
    kc.seed(realm="mlflow", users=100, sessions=4000, offline_ratio=0.2)
    gateway = gateway_for_worker()
    plans = page_plans_build(
        gateway=gateway, realm="mlflow", clients=gateway.clients_list("mlflow")
    )
    asked: list[int] = []
    pages = client_pages_iter(
        gateway=CountingGateway(gateway, asked), realm="mlflow", plans=plans, concurrency=2
    )

    next(pages)
    pages.close()

    assert paging_threads() == []
    read = len(asked)
    time.sleep(0.3)
    assert len(asked) == read < sum(plan.expected_pages for plan in plans)


def test_a_refresh_stopped_by_an_error_of_its_own_leaves_no_thread_reading(kc, monkeypatch):
    from tokenadmin.sessionindex import refresh
    from tokenadmin.sessionindex.refresh import realm_index_refresh

    kc.seed(realm="mlflow", users=100, sessions=4000, offline_ratio=0.2)
    monkeypatch.setattr(refresh, "WRITE_BATCH", 100)

    def fail(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(refresh, "_batch_write", fail)
    with pytest.raises(RuntimeError) as stopped:
        realm_index_refresh(realm="mlflow")

    # While the error (and with it the refresh's frames) is still held.
    assert stopped.value.args == ("database gone",)
    assert paging_threads() == []
