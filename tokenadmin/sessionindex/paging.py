"""Paging through a realm's client session lists with a few threads, losing no session that
stays alive while the lists change.

Keycloak pages by offset; a session leaving a list between two page reads (expiry, a revoke)
shifts the later sessions to lower offsets, so one could fall between two pages. Pages overlap
by PAGE_OVERLAP sessions and must join up: how, and how a gap is read again, is in
paging_links.py; this module reads the pages.
"""

import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from tokenadmin.keycloak import Forbidden, Gateway
from tokenadmin.keycloak.sessions import PAGE_SIZE
from tokenadmin.keycloak.types import KcClient, KcSession

from .paging_links import PAGE_OVERLAP, PAGE_STEP, ListLinks, Read, Repair

# Threads paging Keycloak at once: enough to hide latency, few enough not to load Keycloak.
CONCURRENCY = 8
# Pages requested ahead of the caller, per thread.
READ_AHEAD = 4
# Threads reading repair pages, apart from the grid's: a repair reads one page after another,
# and queued behind the grid's read-ahead each step waited for dozens of pages, so the list
# moved on (more sessions ended) before the repair could catch it.
REPAIR_THREADS = 2


@dataclass(frozen=True)
class PagePlan:
    """One client session list to page through, with how many sessions it should hold."""

    client_uuid: str
    offline: bool
    expected: int = 0

    @property
    def expected_pages(self) -> int:
        return max(1, math.ceil(max(self.expected - PAGE_OVERLAP, 0) / PAGE_STEP))


@dataclass(frozen=True)
class Page:
    client_uuid: str
    offline: bool
    first: int
    sessions: list[KcSession]
    # When the request for it left: a session revoked after this may still be in it.
    read_at: datetime = field(default_factory=timezone.now)


def page_plans_build(
    *, gateway: Gateway, realm: str, clients: Iterable[KcClient]
) -> list[PagePlan]:
    """Every client's online and offline list, sized by client-session-stats when the caller
    may read them (view-realm); sizes only spread the work, paging goes on until a short page."""
    try:
        stats = {row.client_uuid: row for row in gateway.client_session_stats(realm)}
    except Forbidden:
        stats = {}
    plans = []
    for client in clients:
        row = stats.get(client.uuid)
        plans.append(PagePlan(client.uuid, False, row.active if row else 0))
        plans.append(PagePlan(client.uuid, True, row.offline if row else 0))
    # Biggest lists first, so the pool is never left waiting on one long tail.
    plans.sort(key=lambda plan: plan.expected, reverse=True)
    return plans


@dataclass
class _ListPaging:
    """One list being read: its plan and how its pages join."""

    plan: PagePlan
    links: ListLinks


def client_pages_iter(
    *,
    gateway: Gateway,
    realm: str,
    plans: Iterable[PagePlan],
    concurrency: int = CONCURRENCY,
    on_wait: Callable[[], None] | None = None,
) -> Generator[Page, None, None]:
    """Yield the pages of every planned list as they arrive, fetching `concurrency` at once.

    The expected pages of each list are requested up front, overlapping by PAGE_OVERLAP; a
    list that turns out longer goes on page by page until Keycloak answers a short page. Two
    consecutive pages sharing no session means sessions left the list between their reads
    and some may have moved past the later page's start: the gap is read again
    (paging_links.Repair).
    Each thread acts through its own twin of `gateway` (same account, own HTTP connection).
    A GatewayError from any page stops everything. `on_wait` is called about every second
    while no page arrives.
    """
    fetcher = _PageFetcher(gateway=gateway, realm=realm, concurrency=concurrency)
    reader = threading.Thread(
        target=fetcher.run, args=(list(plans),), name="index-refresh-pages", daemon=True
    )
    reader.start()
    try:
        while True:
            try:
                item = fetcher.outbox.get(timeout=1.0)
            except queue.Empty:
                if on_wait is not None:
                    on_wait()
                continue
            if isinstance(item, BaseException):
                raise item
            if not isinstance(item, Page):  # _END
                return
            fetcher.inbox.put(_TAKEN)
            yield item
    finally:
        fetcher.inbox.put(_STOP)
        reader.join()
        fetcher.executor.shutdown(wait=True, cancel_futures=True)
        fetcher.repairs.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class _Fetched:
    """A page (or why not) back from the pool, with what it was requested for."""

    paging: _ListPaging
    what: "int | Repair"
    result: "Page | BaseException"


# What the caller and the reading thread tell each other, besides pages and errors.
_END = object()  # every list is read
_TAKEN = object()  # the caller took a page: the read-ahead window has room again
_STOP = object()  # the caller stopped: read no more


class _PageFetcher:
    """The pages requested from a pool of threads, and what each one is for.

    One thread of its own (`run`) takes the pages as they come back, joins them into their
    lists and starts and steps the repairs, and hands the pages to the caller through
    `outbox`. A repair reads its next page as soon as the last one came back: while the
    caller is busy (a refresh writing a batch, seconds at a million sessions), a repair
    stepped only when the caller came back for a page, and the list moved on faster than
    the repair walked (a first fill under expiry at 1M never ended).
    """

    def __init__(self, *, gateway: Gateway, realm: str, concurrency: int) -> None:
        self.gateway = gateway
        self.realm = realm
        self.local = threading.local()
        self.executor = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="index-refresh"
        )
        self.repairs = ThreadPoolExecutor(
            max_workers=REPAIR_THREADS, thread_name_prefix="index-refresh-repair"
        )
        # Pages read (or a GatewayError, or _END) for the caller, in the order they came.
        self.outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        # What the reading thread waits for: pages back from the pool, _TAKEN, _STOP.
        self.inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        # Pages requested and not yet taken by the caller, and those of them in the pool.
        self.untaken = 0
        self.in_flight = 0
        # Planned pages not requested yet. At most `window` pages are requested and not yet
        # taken by the caller: a page read ahead of a slower caller waits in memory, and
        # requesting a million sessions' pages up front held them all (2 GB at 1,000,000).
        # Repairs and pages past the statistics are requested whatever the window.
        self.planned: deque[tuple[_ListPaging, int]] = deque()
        self.window = concurrency * READ_AHEAD

    def run(self, plans: list[PagePlan]) -> None:
        """The reading thread: request, join and repair until every list is read."""
        try:
            for plan in plans:
                paging = _ListPaging(plan, ListLinks())
                for number in range(plan.expected_pages):
                    self.plan_request(paging, number)
            self.requests_fill()
            while self.in_flight or self.planned:
                item = self.inbox.get()
                if item is _STOP:
                    return
                if isinstance(item, _Fetched):
                    self.in_flight -= 1
                    self.outbox.put(self.arrived(item))
                else:  # _TAKEN
                    self.untaken -= 1
                self.requests_fill()
            self.outbox.put(_END)
        except BaseException as exc:  # the caller raises it (a GatewayError stops the refresh)
            self.outbox.put(exc)

    def _submit(
        self, pool: ThreadPoolExecutor, paging: _ListPaging, what: "int | Repair", first: int
    ) -> None:
        self.untaken += 1
        self.in_flight += 1
        pool.submit(self._fetch_into_inbox, paging, what, first)

    def _fetch_into_inbox(self, paging: _ListPaging, what: "int | Repair", first: int) -> None:
        try:
            result: Page | BaseException = self.fetch(paging.plan, first)
        except BaseException as exc:
            result = exc
        self.inbox.put(_Fetched(paging, what, result))

    def fetch(self, plan: PagePlan, first: int) -> Page:
        thread_gateway = getattr(self.local, "gateway", None)
        if thread_gateway is None:
            thread_gateway = self.local.gateway = self.gateway.twin()
        read_at = timezone.now()
        sessions = thread_gateway.client_sessions_page(
            self.realm, plan.client_uuid, offline=plan.offline, first=first, max_=PAGE_SIZE
        )
        return Page(plan.client_uuid, plan.offline, first, sessions, read_at)

    def request(self, paging: _ListPaging, number: int) -> None:
        paging.links.last_requested = max(paging.links.last_requested, number)
        self._submit(self.executor, paging, number, number * PAGE_STEP)

    def plan_request(self, paging: _ListPaging, number: int) -> None:
        paging.links.last_requested = max(paging.links.last_requested, number)
        self.planned.append((paging, number))

    def requests_fill(self) -> None:
        while self.planned and self.untaken < self.window:
            paging, number = self.planned.popleft()
            self._submit(self.executor, paging, number, number * PAGE_STEP)

    def repair_request(self, paging: _ListPaging, repair: Repair) -> None:
        self._submit(self.repairs, paging, repair, repair.first)

    def arrived(self, fetched: "_Fetched") -> Page:
        """A page came back: join it into its list (or go on with its repair)."""
        paging, what, page = fetched.paging, fetched.what, fetched.result
        if isinstance(page, BaseException):
            raise page
        links = paging.links
        read = Read(page.first, frozenset(s.id for s in page.sessions), len(page.sessions))
        if isinstance(what, Repair):
            self.repaired(paging, what, read)
        elif not links.ended and what >= links.linked:
            if not read.short and what == links.last_requested:
                self.request(paging, what + 1)  # longer than the statistics said: read on
            for repair in links.grid_arrived(what, read):
                self.repair_request(paging, repair)
            self.advance(paging)
        return page

    def repaired(self, paging: _ListPaging, repair: Repair, read: Read) -> None:
        if not repair.needed:
            paging.links.repairing.discard(repair.after)
            return
        following = repair.step(read)
        if following is None:
            paging.links.repair_done(repair)
            self.advance(paging)
        else:
            repair.first = following
            self.repair_request(paging, repair)

    def advance(self, paging: _ListPaging) -> None:
        following = paging.links.advance()
        if following is not None:
            self.request(paging, following)
