"""Paging through a realm's client session lists with a few threads, losing no session that
stays alive while the lists change.

Keycloak pages by offset; a session leaving a list between two page reads (expiry, a revoke)
shifts the later sessions to lower offsets, so one could fall between two pages. Pages overlap
by PAGE_OVERLAP sessions and must be linked: consecutive pages share a session (sessions alive
the whole time keep their order, so everything alive between two shared sessions is in one of
the two pages). Where two pages share nothing, the gap is read again (_Repair).
"""

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from tokenadmin.keycloak import Forbidden, Gateway
from tokenadmin.keycloak.sessions import PAGE_SIZE
from tokenadmin.keycloak.types import KcClient, KcSession

# Threads paging Keycloak at once: enough to hide latency, few enough not to load Keycloak.
CONCURRENCY = 8
# Pages requested ahead of the caller, per thread.
READ_AHEAD = 4
# Sessions each page repeats from the page before: a session leaving the list between two
# page reads shifts the rest forward, and the overlap keeps consecutive pages linked.
PAGE_OVERLAP = 10
PAGE_STEP = PAGE_SIZE - PAGE_OVERLAP
# The most a repair's pages overlap: beyond it, stepping back is cheaper.
MAX_OVERLAP = PAGE_SIZE // 2


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
    """One list's pages while they arrive: grid page n is read at offset n * PAGE_STEP.

    Pages 0..`linked` are known to leave no gap: each shares a session with the one before
    (a session alive the whole time keeps its order, so everything alive between two shared
    sessions is in one of the two pages), or the page before was short (the list ended)."""

    plan: PagePlan
    # Session ids of grid pages not linked yet (and of the last linked one), by number.
    ids: dict[int, frozenset[str]] = field(default_factory=dict)
    full: dict[int, bool] = field(default_factory=dict)
    linked: int = 0
    last_requested: int = 0
    # The list ended (a short page after linked ones): no page beyond is needed.
    ended: bool = False
    repairing: bool = False


@dataclass
class _Repair:
    """Re-reading the gap after grid page `after` of a list, one page at a time.

    Back: from where the gap starts, step by step (each page overlapping the one read before, so
    the anchor's sessions, which only moved down, cannot be stepped over) until a page shares a
    session with `anchor` or reads from offset 0. Forward: from that page until one shares a
    session with the next grid page, or the list ends. A forward page that shares nothing with
    the page before it lost more sessions in between than the overlap: it is read again with
    twice the overlap, and past MAX_OVERLAP the walk goes back again."""

    paging: _ListPaging
    after: int
    anchor: frozenset[str]
    first: int
    forward: bool = False
    # Where the anchor was read and how many sessions it held (forward: the page before).
    anchor_first: int = 0
    anchor_size: int = PAGE_SIZE
    overlap: int = PAGE_OVERLAP


def client_pages_iter(
    *,
    gateway: Gateway,
    realm: str,
    plans: Iterable[PagePlan],
    concurrency: int = CONCURRENCY,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[Page]:
    """Yield the pages of every planned list as they arrive, fetching `concurrency` at once.

    The expected pages of each list are requested up front, overlapping by PAGE_OVERLAP; a
    list that turns out longer goes on page by page until Keycloak answers a short page. Two
    consecutive pages sharing no session means sessions left the list between their reads
    and some may have moved past the later page's start: the gap is read again (_Repair).
    Each thread acts through its own twin of `gateway` (same account, own HTTP connection).
    A GatewayError from any page stops everything. `on_wait` is called about every second
    while no page arrives.
    """
    fetcher = _PageFetcher(gateway=gateway, realm=realm, concurrency=concurrency)
    try:
        for plan in plans:
            paging = _ListPaging(plan)
            for number in range(plan.expected_pages):
                fetcher.plan_request(paging, number)
        fetcher.requests_fill()
        while fetcher.pending:
            done, _ = wait(fetcher.pending, timeout=1.0, return_when=FIRST_COMPLETED)
            if not done and on_wait is not None:
                on_wait()
            for future in done:
                yield fetcher.arrived(future)
            fetcher.requests_fill()
    finally:
        fetcher.executor.shutdown(wait=True, cancel_futures=True)


class _PageFetcher:
    """The pages requested from a pool of threads, and what each one is for."""

    def __init__(self, *, gateway: Gateway, realm: str, concurrency: int) -> None:
        self.gateway = gateway
        self.realm = realm
        self.local = threading.local()
        self.executor = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="index-refresh"
        )
        # What each pending page is: (list, grid page number) or a repair step.
        self.pending: dict[Future[Page], tuple[_ListPaging, int] | _Repair] = {}
        # Planned pages not requested yet. At most `window` pages are requested and not yet
        # taken by the caller: a page read ahead of a slower caller waits in memory, and
        # requesting a million sessions' pages up front held them all (2 GB at 1,000,000).
        self.planned: deque[tuple[_ListPaging, int]] = deque()
        self.window = concurrency * READ_AHEAD

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
        paging.last_requested = max(paging.last_requested, number)
        future = self.executor.submit(self.fetch, paging.plan, number * PAGE_STEP)
        self.pending[future] = (paging, number)

    def plan_request(self, paging: _ListPaging, number: int) -> None:
        paging.last_requested = max(paging.last_requested, number)
        self.planned.append((paging, number))

    def requests_fill(self) -> None:
        while self.planned and len(self.pending) < self.window:
            paging, number = self.planned.popleft()
            future = self.executor.submit(self.fetch, paging.plan, number * PAGE_STEP)
            self.pending[future] = (paging, number)

    def repair_request(self, repair: _Repair) -> None:
        self.pending[self.executor.submit(self.fetch, repair.paging.plan, repair.first)] = repair

    def arrived(self, future: Future[Page]) -> Page:
        """A page came back: link it into its list (or go on with its repair)."""
        what = self.pending.pop(future)
        page = future.result()
        if isinstance(what, _Repair):
            self.repaired(what, page)
            return page
        paging, number = what
        if not paging.ended and number >= paging.linked:
            paging.ids[number] = frozenset(session.id for session in page.sessions)
            paging.full[number] = len(page.sessions) >= PAGE_SIZE
            if paging.full[number] and number == paging.last_requested:
                # Longer than the statistics said: read on at once.
                self.request(paging, number + 1)
            self.link(paging)
        return page

    def link(self, paging: _ListPaging) -> None:
        """Link what can be linked; start a repair where two pages share nothing."""
        while not paging.ended and not paging.repairing:
            n = paging.linked
            if n not in paging.ids:
                return
            if not paging.full[n]:
                paging.ended = True
                return
            if n + 1 not in paging.ids:
                if n + 1 > paging.last_requested:
                    self.request(paging, n + 1)
                return
            if paging.ids[n] & paging.ids[n + 1]:
                del paging.ids[n]
                paging.linked = n + 1
                continue
            paging.repairing = True
            self.repair_request(_Repair(paging, n, paging.ids[n], n * PAGE_STEP))

    def repaired(self, repair: _Repair, page: Page) -> None:
        ids = frozenset(session.id for session in page.sessions)
        if not repair.forward:
            if not (ids & repair.anchor) and repair.first > 0:
                # The anchor's sessions moved below this page: step back.
                repair.first = max(0, repair.first - PAGE_STEP)
                self.repair_request(repair)
                return
            repair.forward = True
        elif not (ids & repair.anchor) and repair.first > 0:
            # More sessions left below this page than the overlap since the page before.
            if repair.overlap < MAX_OVERLAP:
                repair.overlap = min(MAX_OVERLAP, repair.overlap * 2)
                repair.first = max(0, repair.anchor_first + repair.anchor_size - repair.overlap)
            else:
                repair.forward = False
                repair.first = max(0, repair.first - PAGE_STEP)
            self.repair_request(repair)
            return
        self.repair_on(repair, page, ids)

    def repair_on(self, repair: _Repair, page: Page, ids: frozenset[str]) -> None:
        """A repair page linked to the one before: done if it reaches the next grid page or
        the list's end, else read on from it."""
        paging = repair.paging
        following = paging.ids.get(repair.after + 1, frozenset())
        if len(page.sessions) < PAGE_SIZE or ids & following:
            # The gap is read: from the anchor to this page's end, then the next grid page.
            paging.repairing = False
            if len(page.sessions) < PAGE_SIZE:
                paging.ended = True
            else:
                del paging.ids[repair.after]
                paging.linked = repair.after + 1
                self.link(paging)
            return
        repair.anchor = ids
        repair.anchor_first = repair.first
        repair.anchor_size = len(page.sessions)
        repair.first += len(page.sessions) - repair.overlap
        self.repair_request(repair)
