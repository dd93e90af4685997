"""One refresh of a realm's index at a time: the claim on its RealmIndex row and the lease
the running refresh renews (a heartbeat), so a refresh whose worker died is taken over within
seconds and a live one is never doubled."""

import logging
import threading
import time
from datetime import datetime, timedelta

from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone

from .models import REFRESH_HEARTBEAT_S, REFRESH_LEASE_S, RealmIndex

logger = logging.getLogger(__name__)

# The running refresh renews its lease this often (seconds), from a thread of its own, so a
# slow Keycloak call or a long write never makes it look dead; a RUNNING refresh whose lease
# is older than LEASE_S (about three heartbeats) was cut off: its worker died. Another refresh
# may then claim the realm.
HEARTBEAT_S = REFRESH_HEARTBEAT_S
LEASE_S = REFRESH_LEASE_S


class RefreshCutOff(Exception):
    """This refresh's claim is gone: another refresh took the realm over (it found this one's
    lease lapsed). This one stops without writing its end."""


def realm_index_claim(*, realm: str) -> datetime | None:
    """Mark the realm's index RUNNING unless a live refresh holds it.

    Returns the claim's stamp (pass it to realm_index_refresh as `claimed_at`), or None when
    another refresh is running (its lease is fresh), so a double click or two beat ticks at
    once start nothing twice. A RUNNING refresh whose lease lapsed (LEASE_S without a
    heartbeat: its worker died; or never started by a worker) is taken over.
    """
    RealmIndex.objects.get_or_create(realm=realm)
    stamp = timezone.now()
    lapsed = stamp - timedelta(seconds=LEASE_S)
    claimed = (
        RealmIndex.objects.filter(realm=realm)
        .filter(
            ~Q(state=RealmIndex.State.RUNNING)
            | Q(heartbeat_at__lt=lapsed)
            | Q(heartbeat_at__isnull=True, started_at__lt=lapsed)
        )
        .update(
            state=RealmIndex.State.RUNNING,
            started_at=stamp,
            heartbeat_at=None,
            progress_done=0,
            progress_total=0,
            error="",
        )
    )
    return stamp if claimed else None


class Heartbeat:
    """Renews a refresh's lease (RealmIndex.heartbeat_at) every HEARTBEAT_S while it runs.

    From a thread with its own database connection, so slow Keycloak calls and long writes in
    the refresh never let the lease lapse. Inside a transaction (a test's), another connection
    would not see the claim: the refresh then beats itself on its own connection (`tick`).
    `lost` is set once the claim is found gone.
    """

    def __init__(self, *, realm: str, stamp: datetime) -> None:
        self._rows = RealmIndex.objects.filter(
            realm=realm, started_at=stamp, state=RealmIndex.State.RUNNING
        )
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._inline = connection.in_atomic_block
        self._beaten_at = 0.0
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self._beaten_at = time.monotonic()
        if not self._rows.update(heartbeat_at=timezone.now()):
            self.lost.set()

    def tick(self) -> None:
        """Between steps of the refresh: beat if it is on this connection; raise if lost."""
        if self._inline and time.monotonic() - self._beaten_at >= HEARTBEAT_S:
            self.beat()
        if self.lost.is_set():
            raise RefreshCutOff

    def _run(self) -> None:
        try:
            while not self._stop.wait(HEARTBEAT_S) and not self.lost.is_set():
                try:
                    self.beat()
                except DatabaseError:
                    # A busy or full database: the next beat tries again; the lease is
                    # LEASE_S, a few beats.
                    logger.warning("index refresh heartbeat failed", exc_info=True)
        finally:
            connection.close()

    def __enter__(self) -> "Heartbeat":
        self.beat()
        if not self._inline:
            self._thread = threading.Thread(target=self._run, name="index-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
