"""Refreshing a realm's session index from Keycloak.

One refresh reads the realm's settings and clients, pages through every client's online and
offline sessions with a few threads (each with its own Keycloak connection), merges a session
listed under several clients into one row, upserts new and changed rows in batches as pages
arrive (rows Keycloak reports unchanged are left alone), and at the end drops every row this
refresh did not see. A Keycloak failure half-way marks the refresh FAILED and deletes nothing:
an outage never empties the index.

Under faults:
- **Sessions leaving the lists while they are paged** (expiry, revokes) shift later sessions to
  lower offsets. Pages overlap, and each page must share a session with the one before;
  where two do not, the gap is read again from before it (paging.py). A session alive the
  whole refresh is never missed.
- **Revokes during a refresh**: a revoke leaves a tombstone with its time (tombstones.py); a
  session whose tombstone is newer than the last page that listed it is not written, and a
  row already written for it goes at the end.
- **One refresh per realm at a time**, by a lease (lease.py): the refresh renews
  RealmIndex.heartbeat_at every HEARTBEAT_S from a thread of its own; a claim succeeds only
  when no refresh runs or the running one's heartbeat is older than LEASE_S (its worker
  died). A refresh that finds its claim taken over stops without writing its end (nor
  dropping rows).
"""

import logging
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tokenadmin.core.sqlite import page_cache
from tokenadmin.keycloak import Gateway, GatewayError, gateway_for_worker

from .expiry import ClientOverrides, EffectiveLifespans
from .figures import realm_figures_forget, realm_figures_store
from .lease import Heartbeat, RefreshCutOff, realm_index_claim
from .models import IndexedSession, RealmFigures, RealmIndex
from .paging import CONCURRENCY, Page, PagePlan, client_pages_iter, page_plans_build
from .refresh_deferred import DeferredUpdates
from .refresh_fill import (
    fill_analyze,
    fill_indexes_build,
    fill_indexes_drop,
    fill_page_cache_set,
)
from .refresh_merge import _Merger, _Revoked, lifespans_fingerprint
from .refresh_stage import Stage
from .refresh_store import (
    SQLITE_CACHE_KIB,
    WHOLE_TABLE_CACHE_KIB,
    _rows_write,
    _sqlite_cache_kib,
)
from .signals import index_refreshed
from .tombstones import session_tombstones_prune, session_tombstones_since

logger = logging.getLogger(__name__)

# Rows per write transaction: big enough to be cheap (each commit writes every index page the
# batch touched, and sessions land all over each index: 5,000-row batches wrote 100,000 rows
# in 4.2 s, 20,000-row ones in 3.0 s), small enough not to hold the write lock for long (web
# requests write to the same database; 20,000 rows take 0.3-0.6 s).
WRITE_BATCH = 20000
# Seconds between progress updates of a running refresh (the bar polls about once a second).
PROGRESS_EVERY_S = 0.5

ERROR_INTERNAL = "The refresh stopped on an internal error; the previous index is kept."


def realm_index_refresh(
    *,
    realm: str,
    claimed_at: datetime | None = None,
    gateway_factory: Callable[[], Gateway] = gateway_for_worker,
    concurrency: int = CONCURRENCY,
) -> RealmIndex:
    """Refresh the index of `realm` from Keycloak; returns its RealmIndex afterwards.

    Without `claimed_at` it claims the realm itself; with it (a claim made by
    realm_index_claim, e.g. in the "refresh now" view) it goes on only if that claim still
    holds. Either way a refresh already running is left alone.
    """
    stamp = claimed_at or realm_index_claim(realm=realm)
    if stamp is None:
        return RealmIndex.objects.get(realm=realm)
    mine = RealmIndex.objects.filter(realm=realm, started_at=stamp)
    heartbeat = Heartbeat(realm=realm, stamp=stamp)
    try:
        with heartbeat, _sqlite_cache_kib(SQLITE_CACHE_KIB):
            if heartbeat.lost.is_set():  # the claim lapsed before a worker took it up
                return RealmIndex.objects.get(realm=realm)
            fill_indexes_build()  # a worker killed during a first fill left them dropped
            seen = _refresh(
                realm=realm,
                stamp=stamp,
                progress=mine,
                heartbeat=heartbeat,
                gateway_factory=gateway_factory,
                concurrency=concurrency,
            )
    except RefreshCutOff:
        logger.warning("index refresh of %s was taken over by another one; stopped", realm)
    except GatewayError as exc:
        logger.warning("index refresh of %s failed: %s %s", realm, exc.message, exc.detail)
        mine.update(
            state=RealmIndex.State.FAILED,
            error=exc.message,
            sessions_seen=IndexedSession.objects.filter(realm=realm).count(),
        )
    except Exception:
        logger.exception("index refresh of %s stopped", realm)
        mine.update(
            state=RealmIndex.State.FAILED,
            error=ERROR_INTERNAL,
            sessions_seen=IndexedSession.objects.filter(realm=realm).count(),
        )
        raise
    else:
        logger.info("index refresh of %s: %d sessions", realm, seen)
    finally:
        # A first fill that stopped half-way leaves no index dropped (refresh_fill.py).
        fill_indexes_build()
    return RealmIndex.objects.get(realm=realm)


def _revoked_since(*, realm: str, stamp: datetime) -> _Revoked:
    all_at = (
        RealmIndex.objects.filter(realm=realm, all_signed_out_at__gte=stamp)
        .values_list("all_signed_out_at", flat=True)
        .first()
    )
    return _Revoked(session_tombstones_since(realm=realm, since=stamp), all_at)


def _revoked_rows_drop(*, realm: str, stage: Stage, revoked: _Revoked) -> int:
    """Drop rows this refresh wrote for sessions revoked after their last page was read (the
    revoke's own index update may have come before this refresh's write)."""
    dropped = 0
    for (session_id, offline), at in revoked.sessions.items():
        last_read = stage.last_read_at((session_id, offline))
        if last_read is not None and at >= last_read:
            rows = IndexedSession.objects.filter(realm=realm, session_id=session_id)
            dropped += rows.filter(offline=offline).delete()[0]
    if revoked.all_at is not None:
        dropped += stage.signed_out_drop(revoked.all_at)
    return dropped


@dataclass(frozen=True)
class _Plan:
    """What a refresh reads before its pages: the lists to page and what expiries depend on."""

    plans: list[PagePlan]
    total_pages: int
    lifespans: EffectiveLifespans
    overrides: dict[str, ClientOverrides]
    fingerprint: str


def _plan_read(*, gateway: Gateway, realm: str) -> _Plan:
    lifespans = EffectiveLifespans.from_representation(gateway.realm_settings(realm).lifespans)
    clients = gateway.clients_list(realm)
    overrides = {
        client.uuid: ClientOverrides.from_attributes(client.attributes) for client in clients
    }
    plans = page_plans_build(gateway=gateway, realm=realm, clients=clients)
    return _Plan(
        plans=plans,
        total_pages=sum(plan.expected_pages for plan in plans),
        lifespans=lifespans,
        overrides=overrides,
        fingerprint=lifespans_fingerprint(lifespans, overrides),
    )


def _refresh(
    *,
    realm: str,
    stamp: datetime,
    progress: QuerySet[RealmIndex],
    heartbeat: Heartbeat,
    gateway_factory: Callable[[], Gateway],
    concurrency: int,
) -> int:
    gateway = gateway_factory()
    plan = _plan_read(gateway=gateway, realm=realm)
    heartbeat.tick()
    progress.update(progress_total=plan.total_pages)
    lifespans_unchanged = _lifespans_unchanged(progress=progress, fingerprint=plan.fingerprint)
    merger = _mergers(realm=realm, stamp=stamp, plan=plan, lifespans_unchanged=lifespans_unchanged)
    stage, deferred = _tables_open(realm=realm, plan=plan, lifespans_unchanged=lifespans_unchanged)
    try:
        pages = client_pages_iter(
            gateway=gateway,
            realm=realm,
            plans=plan.plans,
            concurrency=concurrency,
            on_wait=heartbeat.tick,
        )
        with closing(pages):  # an error of this refresh's own stops the reading at once
            pages_done = _pages_stage(
                pages,
                realm=realm,
                stamp=stamp,
                progress=progress,
                heartbeat=heartbeat,
                stage=stage,
                deferred=deferred,
                merger=merger,
                total_pages=plan.total_pages,
            )
        heartbeat.tick()  # the staging is done: the finish is one more stretch of work
        _refresh_finish(
            realm=realm,
            stamp=stamp,
            progress=progress,
            stage=stage,
            deferred=deferred,
            merger=merger(),
            pages_done=pages_done,
            fingerprint=plan.fingerprint,
        )
        return stage.sessions_seen
    finally:
        deferred.close()
        stage.close()


def _mergers(
    *, realm: str, stamp: datetime, plan: _Plan, lifespans_unchanged: bool
) -> Callable[[], _Merger]:
    """A maker of the merger each batch uses (each starts with no stored rows)."""

    def merger() -> _Merger:
        return _Merger(
            realm=realm,
            stamp=stamp,
            lifespans=plan.lifespans,
            overrides=plan.overrides,
            stored={},
            lifespans_unchanged=lifespans_unchanged,
        )

    return merger


def _tables_open(
    *, realm: str, plan: _Plan, lifespans_unchanged: bool
) -> tuple[Stage, DeferredUpdates]:
    """The refresh's temporary tables: its listings, and its updates if it holds them. Before
    a first fill, the indexes are dropped when that pays."""
    expected = sum(p.expected for p in plan.plans)
    if not (stored := IndexedSession.objects.filter(realm=realm).exists()):  # a first fill
        fill_indexes_drop(realm=realm, expected=expected)
        fill_page_cache_set()
    stage = Stage(realm, stored=stored, unchanged_skipped=lifespans_unchanged)
    return stage, DeferredUpdates(realm=realm, stored=stored, expected=expected)


def _lifespans_unchanged(*, progress: QuerySet[RealmIndex], fingerprint: str) -> bool:
    if progress.filter(lifespans_fingerprint=fingerprint).exists():
        return True
    # Until this refresh is done, the stored expiries follow no one set of lifespans: a
    # refresh that fails half-way leaves the next one to recompute everything.
    progress.update(lifespans_fingerprint="")
    return False


def _pages_stage(
    pages: Iterable[Page],
    *,
    realm: str,
    stamp: datetime,
    progress: QuerySet[RealmIndex],
    heartbeat: Heartbeat,
    stage: Stage,
    deferred: DeferredUpdates,
    merger: Callable[[], _Merger],
    total_pages: int,
) -> int:
    """Stage the pages as they arrive, writing every WRITE_BATCH listings what changed, and
    report progress; returns how many pages were read."""
    pages_done = 0
    progress_at = time.monotonic()
    for page in pages:
        heartbeat.tick()
        stage.add(page)
        pages_done += 1
        if (listings := stage.unflushed) >= WRITE_BATCH and stage.batch_select():
            with transaction.atomic():
                # Inside the write's transaction: a revoke is either in it or after it.
                revoked = _revoked_since(realm=realm, stamp=stamp)
                written = _batch_write(
                    stage=stage,
                    deferred=deferred,
                    listings=listings,
                    merger=merger(),
                    revoked=revoked,
                )
                if written:
                    # Rows change before the end: the figures are counted again there.
                    realm_figures_forget(realm=realm)
        if time.monotonic() - progress_at >= PROGRESS_EVERY_S:
            progress_at = time.monotonic()
            progress.update(
                progress_done=pages_done,
                # Longer lists than the statistics said: the bar grows, not overflows.
                progress_total=max(total_pages, pages_done + 1),
                # Each listing counts as a session until the end counts them (an upper bound).
                sessions_seen=stage.staged,
            )
    return pages_done


def _batch_write(
    *, stage: Stage, deferred: DeferredUpdates, listings: int, merger: _Merger, revoked: _Revoked
) -> int:
    """Merge the sessions stage.batch_select kept (with all their listings so far), compare
    them with their stored rows and write what changed, or hold it (`deferred`); returns rows
    written now."""
    pages, merger.stored = stage.batch_take()
    for page in pages:
        merger.add(page)
    return _rows_write(deferred.take(merger.take_rows(revoked), listings=listings))


def realm_index_refresh_all(
    *, gateway_factory: Callable[[], Gateway] = gateway_for_worker
) -> list[RealmIndex]:
    """Refresh every realm the acting account can see, one after the other (the schedule)."""
    realms = [realm.name for realm in gateway_factory().realms_list()]
    return [realm_index_refresh(realm=name, gateway_factory=gateway_factory) for name in realms]


def _refresh_finish(
    *,
    realm: str,
    stamp: datetime,
    progress: QuerySet[RealmIndex],
    stage: Stage,
    deferred: DeferredUpdates,
    merger: _Merger,
    pages_done: int,
    fingerprint: str,
) -> None:
    """Write the last batch and the end of the refresh, drop the rows no list showed and the
    revoked ones, all in one transaction."""
    with transaction.atomic():
        revoked = _revoked_since(realm=realm, stamp=stamp)
        changed = _last_writes(stage=stage, deferred=deferred, merger=merger, revoked=revoked)
        # The end is written only while the claim holds (a refresh that took over after this
        # one's lease lapsed owns the realm now); the rest rolls back with it.
        finished = progress.filter(state=RealmIndex.State.RUNNING).update(
            state=RealmIndex.State.DONE,
            refreshed_at=stamp,
            heartbeat_at=None,
            progress_done=pages_done,
            progress_total=pages_done,
            sessions_seen=stage.sessions_count(),
            error="",
            lifespans_fingerprint=fingerprint,
        )
        if not finished:
            raise RefreshCutOff
        # Rows no listing names: Keycloak no longer holds those sessions. (A first fill wrote
        # rows from listings only: none to look for.)
        if stage.stored:
            changed += stage.unlisted_drop()
        if revoked:
            changed += _revoked_rows_drop(realm=realm, stage=stage, revoked=revoked)
        if changed or not RealmFigures.objects.filter(realm=realm).exists():
            # With the rows, in their transaction: a page reads both or neither.
            with page_cache(WHOLE_TABLE_CACHE_KIB):
                realm_figures_store(realm=realm)
        # Every page of a later refresh is read after this one's claim: older tombstones
        # can no longer bring anything back.
        session_tombstones_prune(realm=realm, before=stamp)
        if revoked:
            progress.update(sessions_seen=IndexedSession.objects.filter(realm=realm).count())
        # After the commit: a listener (history) reads what this refresh left, and its failure
        # does not undo the refresh (robust).
        finished_at = timezone.now()
        transaction.on_commit(
            lambda: index_refreshed.send_robust(
                sender=RealmIndex, realm=realm, started_at=stamp, finished_at=finished_at
            ),
            robust=True,
        )


def _last_writes(
    *, stage: Stage, deferred: DeferredUpdates, merger: _Merger, revoked: _Revoked
) -> int:
    """Write the last batch and the held updates, then build the indexes a first fill or the
    held updates dropped, each by one sort (before the drops and figures); returns rows
    written."""
    changed, listings = 0, stage.unflushed
    if stage.batch_select():
        changed = _batch_write(
            stage=stage, deferred=deferred, listings=listings, merger=merger, revoked=revoked
        )
    changed += deferred.apply()
    fill_indexes_build()
    if not stage.stored:
        fill_analyze()
    return changed
