"""Paging while Keycloak's expiry goes on in real time and the caller is slow (a refresh
writing a batch): a gap's repair must not wait for the caller between its steps, or the list
moves on faster than the repair walks and the refresh never ends."""

import threading
import time

import pytest

from tokenadmin.keycloak import gateway_for_worker
from tokenadmin.sessionindex.paging import client_pages_iter, page_plans_build

from .test_paging_window import CountingGateway
from .test_refresh_faults import keycloak_sessions

pytestmark = pytest.mark.django_db


def test_a_slow_caller_does_not_hold_up_repairs_while_sessions_keep_ending(kc):
    kc.seed(realm="mlflow", users=2000, sessions=30000, offline_ratio=0.2)
    gateway = gateway_for_worker()
    plans = page_plans_build(
        gateway=gateway, realm="mlflow", clients=gateway.clients_list("mlflow")
    )
    before = keycloak_sessions(kc, "mlflow")
    asked: list[int] = []
    stop = threading.Event()

    def expiry() -> None:  # Keycloak's expiry, every 50 ms
        while not stop.wait(0.05):
            kc.expire("mlflow", 60)

    clock = threading.Thread(target=expiry)
    clock.start()
    seen = set()
    started = time.monotonic()
    try:
        pages = client_pages_iter(
            gateway=CountingGateway(gateway, asked), realm="mlflow", plans=plans, concurrency=4
        )
        for number, page in enumerate(pages, 1):
            seen.update((session.id, session.offline) for session in page.sessions)
            if number % 25 == 0:
                time.sleep(0.3)  # a batch written
            assert time.monotonic() - started < 120, f"{len(asked)} pages read"
    finally:
        stop.set()
        clock.join()
    alive = keycloak_sessions(kc, "mlflow")
    grid = sum(plan.expected_pages for plan in plans)
    print(f"{len(asked)} pages read, {grid} on the grid, {len(before) - len(alive)} ended")
    assert alive <= seen
    assert len(before) - len(alive) > 3000
    assert len(asked) <= 1.4 * grid  # the repairs before this bound read 2-6 times the grid
