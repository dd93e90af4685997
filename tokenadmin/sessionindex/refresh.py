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

import hashlib
import json
import logging
import time
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import QuerySet

from tokenadmin.keycloak import Gateway, GatewayError, gateway_for_worker
from tokenadmin.keycloak.types import KcSession

from .expiry import (
    NO_OVERRIDES,
    ClientActivity,
    ClientOverrides,
    EffectiveLifespans,
    SessionTimes,
    session_expiry_predict,
)
from .lease import Heartbeat, RefreshCutOff, realm_index_claim
from .models import (
    SEARCH_SEPARATOR,
    IndexedSession,
    RealmIndex,
    search_text_of,
)
from .paging import CONCURRENCY, Page, client_pages_iter, page_plans_build
from .tombstones import session_tombstones_prune, session_tombstones_since

logger = logging.getLogger(__name__)

# Rows per write transaction: big enough to be cheap (each commit writes every index page the
# batch touched, and sessions land all over each index: 5,000-row batches wrote 100,000 rows
# in 4.2 s, 20,000-row ones in 3.0 s), small enough not to hold the write lock for long (web
# requests write to the same database; 20,000 rows take 0.3-0.6 s).
WRITE_BATCH = 20000
# Seconds between progress updates of a running refresh (the bar polls about once a second).
PROGRESS_EVERY_S = 0.5

ERROR_NOT_QUEUED = "The refresh could not be queued: the task queue is unreachable."
ERROR_INTERNAL = "The refresh stopped on an internal error; the previous index is kept."

# Columns written for a new session, after the unique key.
_VALUE_FIELDS = (
    "user_id",
    "username",
    "ip_address",
    "started_at",
    "last_access_at",
    "remember_me",
    "clients",
    "client_ids_text",
    "expires_at",
    "seen_at",
    "search_text",
)
# Columns a later refresh rewrites. Keycloak fixes a session's user, IP, start and remember-me
# when it creates it; leaving them out spares SQLite rewriting three indexes per row. (A user
# renamed in Keycloak keeps the old username in the index until the session ends.)
_UPDATE_FIELDS = ("last_access_at", "clients", "client_ids_text", "expires_at", "seen_at")
# SQLite page cache while a refresh writes (KiB, negative per SQLite's convention): the
# table's eight B-trees at 100,000 rows fit, so upserts do not re-read pages.
SQLITE_CACHE_KIB = 131072


# -- merging -----------------------------------------------------------------------------------
@dataclass(slots=True)
class _Seen:
    """One session as merged so far from every list that showed it."""

    first: KcSession
    last_access_at: datetime
    # The first list's dict until a second list adds clients (then a merged copy).
    clients: dict[str, str]
    # When the last page listing it was requested (a revoke after that may have removed it).
    read_at: datetime
    # Offline lists give each client session's own lastAccess.
    client_last_access: dict[str, datetime] | None = None


@dataclass(slots=True)
class Stored:
    """A row as the index held it before this refresh: what a refresh compares a session
    with to leave it alone. Start and remember-me are not compared: Keycloak fixes both when
    it creates the session, under the same id."""

    pk: int
    last_access_at: datetime
    # Decoded once per distinct JSON text: a realm has a few client sets, shared by rows.
    clients: dict[str, str]
    # As the database adapter writes it (text on SQLite), compared when the lifespans changed.
    expires_at: object


# Part of the lifespans fingerprint: bump it when session_expiry_predict changes its answers,
# so the next refresh recomputes every stored expiry.
EXPIRY_VERSION = 1


def lifespans_fingerprint(
    lifespans: EffectiveLifespans, overrides: dict[str, ClientOverrides]
) -> str:
    """What every predicted expiry of a realm depends on besides the session's own times:
    the realm's effective lifespans and each client's overrides."""
    text = repr((EXPIRY_VERSION, lifespans, sorted(overrides.items())))
    return hashlib.sha256(text.encode()).hexdigest()


class _Merger:
    def __init__(
        self,
        *,
        realm: str,
        stamp: datetime,
        lifespans: EffectiveLifespans,
        overrides: dict[str, ClientOverrides],
        stored: dict[tuple[str, bool], Stored],
        lifespans_unchanged: bool = False,
    ) -> None:
        self.realm = realm
        self._adapt_datetime = _datetime_adapter()
        self._adapt_json = connection.ops.adapt_json_value
        self._stamp_adapted = self._adapt_datetime(stamp)
        self.lifespans = lifespans
        self._plain_online = lifespans.session_bounds(offline=False, remember_me=False)
        self.overrides = overrides
        # Rows before this refresh; a row this refresh writes leaves it.
        self.stored = stored
        # The stored expiries were computed with these same lifespans and overrides: a row
        # whose own inputs are unchanged keeps its expiry without computing it.
        self.lifespans_unchanged = lifespans_unchanged
        self.seen: dict[tuple[str, bool], _Seen] = {}
        # Keys to look at when rows are taken: new sessions, sessions that differ from their
        # stored row, and sessions seen again under another client.
        self.dirty: set[tuple[str, bool]] = set()
        # The same few client sets recur on every row: encode each once.
        self._client_texts: dict[tuple[tuple[str, str], ...], tuple[object, str]] = {}

    def add(self, page: Page) -> None:
        """Merge a page into what was seen. A session seen for the first time that equals its
        stored row (same last access and clients, same lifespans) is left out of `dirty`:
        in the steady state that is nearly every session, and it costs one comparison."""
        seen = self.seen
        stored_get = self.stored.get
        dirty_add = self.dirty.add
        unchanged_possible = self.lifespans_unchanged
        client_uuid = page.client_uuid
        read_at = page.read_at
        for session in page.sessions:
            key = (session.id, session.offline)
            entry = seen.get(key)
            if entry is None:
                entry = seen[key] = _Seen(session, session.last_access_at, session.clients, read_at)
                if session.offline:
                    entry.client_last_access = {client_uuid: session.last_access_at}
                if unchanged_possible:
                    stored = stored_get(key)
                    if (
                        stored is not None
                        and stored.last_access_at == session.last_access_at
                        and stored.clients == session.clients
                    ):
                        continue
            else:
                # Seen again: under another client, or twice in one list (pages overlap).
                if read_at > entry.read_at:
                    entry.read_at = read_at
                changed = False
                if session.last_access_at > entry.last_access_at:
                    entry.last_access_at = session.last_access_at
                    changed = True
                if not session.clients.items() <= entry.clients.items():
                    entry.clients = {**entry.clients, **session.clients}
                    changed = True
                if session.offline:
                    if entry.client_last_access is None:
                        entry.client_last_access = {}
                    if entry.client_last_access.get(client_uuid) != session.last_access_at:
                        entry.client_last_access[client_uuid] = session.last_access_at
                        changed = True
                if not changed:
                    continue
            dirty_add(key)

    def take_rows(self, revoked: "_Revoked | None" = None) -> "Writes":
        """What to write for the sessions looked at since the last call: new sessions and
        sessions whose clients changed as whole rows, sessions only used since the last
        refresh (new last access, maybe a new expiry) as a narrow update of their stored row.
        Sessions equal to their stored row, expiry included, are left alone, and so are
        sessions `revoked` after the last page listing them was read."""
        writes = Writes()
        adapt = self._adapt_datetime
        for key in self.dirty:
            entry = self.seen[key]
            if revoked is not None and revoked.hides(key, entry):
                continue
            first = entry.first
            stored = self.stored.get(key)
            if stored is not None and stored.clients == entry.clients:
                if stored.last_access_at == entry.last_access_at:
                    if self.lifespans_unchanged and _client_times_implied(entry):
                        # Same inputs, same lifespans: the stored expiry is this one.
                        continue
                    expires_at = adapt(self._expiry(entry))
                    if stored.expires_at == expires_at:
                        continue
                else:
                    expires_at = adapt(self._expiry(entry))
                writes.updates.append(
                    (adapt(entry.last_access_at), expires_at, self._stamp_adapted, stored.pk)
                )
                # Compared from now on with what this refresh wrote: once written, a session
                # seen again under another client is written again.
                del self.stored[key]
                continue
            clients_json, client_ids_text = self._clients_text(entry.clients)
            writes.upserts.append(
                (
                    self.realm,
                    first.id,
                    first.offline,
                    first.user_id,
                    first.username,
                    first.ip_address,
                    adapt(first.started_at),
                    adapt(entry.last_access_at),
                    first.remember_me,
                    clients_json,
                    client_ids_text,
                    adapt(self._expiry(entry)),
                    self._stamp_adapted,
                    search_text_of(first.username, first.ip_address, client_ids_text),
                )
            )
            self.stored.pop(key, None)
        self.dirty.clear()
        # In key order (upserts) and row order (updates): each index and the table are then
        # written front to back, not at random.
        writes.upserts.sort(key=_row_key)
        writes.updates.sort(key=_update_row_id)
        return writes

    def _expiry(self, entry: _Seen) -> datetime:
        first = entry.first
        if not first.offline and not first.remember_me:
            # Most rows: session_expiry_predict's answer for a plain online session, without
            # building its inputs (a quarter of a refresh's own time at 100,000 sessions).
            return self._plain_online.expires_at(
                started_at=first.started_at, last_access_at=entry.last_access_at
            )
        times = SessionTimes(
            offline=first.offline,
            remember_me=first.remember_me,
            started_at=first.started_at,
            last_access_at=entry.last_access_at,
            clients=(
                tuple(
                    ClientActivity(
                        overrides=self.overrides.get(uuid, NO_OVERRIDES),
                        last_access_at=(entry.client_last_access or {}).get(uuid),
                    )
                    for uuid in entry.clients
                )
                if first.offline
                else ()
            ),
        )
        return session_expiry_predict(lifespans=self.lifespans, session=times)

    def _clients_text(self, clients: dict[str, str]) -> tuple[object, str]:
        signature = tuple(clients.items())
        cached = self._client_texts.get(signature)
        if cached is None:
            client_ids = sorted(set(clients.values()))
            cached = self._client_texts[signature] = (
                self._adapt_json(clients, None),
                f" {' '.join(client_ids)} " if client_ids else "",
            )
        return cached


@dataclass
class Writes:
    """One batch of writes: whole rows to upsert, (last access, expiry, stamp, row id) to
    update. The narrow update rewrites two indexes per row instead of five."""

    upserts: list[tuple] = field(default_factory=list)
    updates: list[tuple] = field(default_factory=list)


def _row_key(row: tuple) -> tuple[str, bool]:
    return row[1], row[2]


def _update_row_id(row: tuple) -> int:
    return row[3]


def _client_times_implied(entry: _Seen) -> bool:
    """Whether the session's stored last access and clients determine every client session's
    last access (the expiry's per-client input, not stored): true for online sessions and for
    offline ones whose client sessions were all last used at the session's last access."""
    times = entry.client_last_access
    if times is None:
        return True
    last = entry.last_access_at
    return all(value == last for value in times.values())


# The unique key first, then the values (rows are tuples in this order).
_KEY_COLUMNS = ("realm", "session_id", "offline")
_COLUMNS = (*_KEY_COLUMNS, *_VALUE_FIELDS)


def _datetime_adapter() -> Callable[[datetime], object]:
    """The database's datetime adapter; for SQLite in UTC, a shortcut that gives what Django's
    gives (naive UTC, str()) for the UTC datetimes the gateway returns, at a tenth of the cost."""
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite" or connection.timezone_name != "UTC":
        return adapt
    # isoformat() of an aware UTC datetime ends in "+00:00"; without it, it is str() of the
    # naive one, microseconds included or omitted alike.
    return lambda value: value.isoformat(" ")[:-6] if value.tzinfo is UTC else adapt(value)


def _rows_upsert(rows: list[tuple]) -> None:
    """Insert or update rows in one statement: the one bulk_create(update_conflicts=True,
    unique_fields=[realm, session_id, offline]) generates, without a model instance and
    compiled SQL per row (through the ORM the writes took 4x the paging time at 100,000).

    On SQLite the rows go in as one JSON array read by json_each, one statement per batch:
    the search table's triggers then run inside one statement, and its full-text index is
    written once per batch instead of once per row (executemany: 10.6 s for 100,000 new rows,
    one statement: 5.5 s). Elsewhere, executemany.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(IndexedSession._meta.db_table)
    column_of = {f.name: str(f.column) for f in IndexedSession._meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in _COLUMNS)
    key = ", ".join(quote(name) for name in _KEY_COLUMNS)
    updates = ", ".join(f"{quote(name)} = EXCLUDED.{quote(name)}" for name in _UPDATE_FIELDS)
    # The search text follows the new clients, with the user and IP the row keeps (see
    # _UPDATE_FIELDS), lowered by the database as search_text_of does.
    sep = "'" + SEARCH_SEPARATOR + "'"
    updates += (
        f", {quote('search_text')} = LOWER({table}.{quote('username')} || {sep} || "
        f"{table}.{quote('ip_address')} || {sep} || EXCLUDED.{quote('client_ids_text')})"
    )
    conflict = f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(_COLUMNS)))
            # "WHERE true": SQLite's parser needs it between a SELECT and ON CONFLICT.
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {values} "  # noqa: S608
                f"FROM json_each(%s) WHERE true {conflict}",
                [json.dumps(rows)],
            )
            return
        # Only model metadata goes into the text; every value is a parameter.
        placeholders = ", ".join(["%s"] * len(_COLUMNS))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {conflict}",  # noqa: S608
            rows,
        )


def _rows_write(writes: Writes) -> None:
    """Upsert the whole rows, then update the used sessions' last access and expiry by id."""
    _rows_upsert(writes.upserts)
    if writes.updates:
        table = connection.ops.quote_name(IndexedSession._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET last_access_at = %s, expires_at = %s, seen_at = %s "  # noqa: S608
                "WHERE id = %s",
                writes.updates,
            )


# Between a stored row's fields and between rows in _stored_rows' one text value. Neither
# occurs inside a field: session ids are Keycloak's UUIDs, datetimes are digits, and JSON
# escapes every control character inside its strings.
_FIELD_SEP, _ROW_SEP = "\x1f", "\x1e"


# The realm's stored rows as one text value: fields joined by _FIELD_SEP (char 31), rows by
# _ROW_SEP (char 30); datetimes as ISO text in UTC. {table} is the only interpolation.
_STORED_ROWS_SQL = {
    # `+realm`: no index on realm for this one, the row id range is the way in.
    "sqlite": (
        "SELECT group_concat(session_id || char(31) || offline || char(31) || id || char(31) "
        "|| last_access_at || '+00:00' || char(31) || clients || char(31) "
        "|| ifnull(expires_at, ''), char(30)) FROM {table} "
        "WHERE id BETWEEN %s AND %s AND +realm = %s"
    ),
    "postgresql": (
        "SELECT string_agg(session_id || chr(31) || offline::int || chr(31) || id || chr(31) "
        "|| to_char(last_access_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00:00') "
        "|| chr(31) || clients::text || chr(31) || coalesce(to_char(expires_at AT TIME ZONE "
        "'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00:00'), ''), chr(30)) FROM {table} "
        "WHERE id BETWEEN %s AND %s AND realm = %s"
    ),
}


def _stored_rows(realm: str) -> dict[tuple[str, bool], Stored]:
    """The realm's rows before this refresh, to leave unchanged ones alone.

    Read as one text value over the realm's range of row ids (a realm's rows are written
    together, so the range reads the table in order instead of seeking each row through an
    index), then split here: row by row, the database module hands the interpreter lock back
    and forth per row, and with the paging threads busy each hand-back waits; on PostgreSQL,
    Django's per-value loaders took 4 s for 100,000 rows. (Stored is a plain slots class:
    100,000 of them are built, a frozen one takes twice as long.) The expiry stays text on
    SQLite, as the refresh writes it there; elsewhere it is read back as a datetime.
    """
    sql = _STORED_ROWS_SQL.get(connection.vendor)
    if sql is None or (connection.vendor == "sqlite" and connection.timezone_name != "UTC"):
        return _stored_rows_orm(realm)
    table = connection.ops.quote_name(IndexedSession._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table} WHERE realm = %s", [realm])  # noqa: S608
        low, high = cursor.fetchone()
        if low is None:
            return {}
        cursor.execute(sql.format(table=table), [low, high, realm])
        (text,) = cursor.fetchone()
    parse = datetime.fromisoformat
    expiry_as_text = connection.vendor == "sqlite"
    clients_of: dict[str, dict[str, str]] = {}
    stored = {}
    for line in text.split(_ROW_SEP):
        session_id, offline, pk, last_access, clients_json, expires = line.split(_FIELD_SEP)
        clients = clients_of.get(clients_json)
        if clients is None:
            clients = clients_of[clients_json] = json.loads(clients_json)
        if not expiry_as_text and expires:
            expires = parse(expires)
        stored[session_id, offline == "1"] = Stored(int(pk), parse(last_access), clients, expires)
    return stored


def _stored_rows_orm(realm: str) -> dict[tuple[str, bool], Stored]:
    """_stored_rows through the ORM (databases without a one-value read, SQLite not in UTC):
    the expiry as the database adapter writes it, compared with this refresh's."""
    adapt = connection.ops.adapt_datetimefield_value
    rows = IndexedSession.objects.filter(realm=realm).values_list(
        "session_id", "offline", "id", "last_access_at", "clients", "expires_at"
    )
    return {
        (session_id, offline): Stored(pk, last_access, clients, adapt(expires) if expires else "")
        for session_id, offline, pk, last_access, clients, expires in rows.iterator(chunk_size=5000)
    }


def _unseen_drop(
    *, stored: dict[tuple[str, bool], Stored], seen: Container[tuple[str, bool]]
) -> None:
    """Drop the rows this refresh did not see: Keycloak no longer holds those sessions.

    `stored` is what is left of the rows before this refresh (the rows it wrote left it): the
    ones no list showed go by id; the unchanged ones keep the stamp of the refresh that last
    wrote them (see IndexedSession.seen_at).
    """
    gone = [row.pk for key, row in stored.items() if key not in seen]
    for start in range(0, len(gone), 500):
        IndexedSession.objects.filter(pk__in=gone[start : start + 500]).delete()


@contextmanager
def _sqlite_cache_kib(kib: int) -> Iterator[None]:
    """A bigger SQLite page cache on this connection for the duration, then the old size."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


# -- the refresh -------------------------------------------------------------------------------
def realm_index_refresh_start(*, realm: str) -> RealmIndex:
    """Claim the realm and queue its refresh on the worker ("refresh now").

    Returns the RealmIndex, RUNNING from now on (or the refresh already running). If the task
    queue cannot be reached the claim is turned into a FAILED refresh with a message.
    """
    from .tasks import realm_index_refresh_task

    claimed_at = realm_index_claim(realm=realm)
    if claimed_at is not None:

        def enqueue() -> None:
            try:
                realm_index_refresh_task.delay(realm, claimed_at.isoformat())
            except Exception:
                logger.exception("could not queue the index refresh of %s", realm)
                RealmIndex.objects.filter(realm=realm, started_at=claimed_at).update(
                    state=RealmIndex.State.FAILED, error=ERROR_NOT_QUEUED
                )

        transaction.on_commit(enqueue)
    return RealmIndex.objects.get(realm=realm)


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
    return RealmIndex.objects.get(realm=realm)


@dataclass(frozen=True)
class _Revoked:
    """What revokes since this refresh's claim took out of Keycloak: sessions by key (their
    tombstones) and, after a logout-all at `all_at`, every session started before (Keycloak
    26.7's logout-all ends offline sessions too)."""

    sessions: dict[tuple[str, bool], datetime]
    all_at: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.sessions) or self.all_at is not None

    def hides(self, key: tuple[str, bool], entry: _Seen) -> bool:
        """Whether the revoke came after the last page listing the session was read."""
        at = self.sessions.get(key)
        if at is not None and at >= entry.read_at:
            return True
        all_at = self.all_at
        return all_at is not None and all_at >= entry.read_at and entry.first.started_at < all_at


def _revoked_since(*, realm: str, stamp: datetime) -> _Revoked:
    all_at = (
        RealmIndex.objects.filter(realm=realm, all_signed_out_at__gte=stamp)
        .values_list("all_signed_out_at", flat=True)
        .first()
    )
    return _Revoked(session_tombstones_since(realm=realm, since=stamp), all_at)


def _revoked_rows_drop(
    *, realm: str, seen: dict[tuple[str, bool], _Seen], revoked: _Revoked
) -> None:
    """Drop rows this refresh wrote for sessions revoked after their last page was read (the
    revoke's own index update may have come before this refresh's write)."""
    if not revoked:
        return
    for offline in (False, True):
        ids = [
            key[0] for key, entry in seen.items() if key[1] == offline and revoked.hides(key, entry)
        ]
        for start in range(0, len(ids), 500):
            IndexedSession.objects.filter(
                realm=realm, offline=offline, session_id__in=ids[start : start + 500]
            ).delete()


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
    lifespans = EffectiveLifespans.from_representation(gateway.realm_settings(realm).lifespans)
    clients = gateway.clients_list(realm)
    overrides = {
        client.uuid: ClientOverrides.from_attributes(client.attributes) for client in clients
    }
    plans = page_plans_build(gateway=gateway, realm=realm, clients=clients)
    total_pages = sum(plan.expected_pages for plan in plans)
    heartbeat.tick()
    progress.update(progress_total=total_pages)

    fingerprint = lifespans_fingerprint(lifespans, overrides)
    lifespans_unchanged = progress.filter(lifespans_fingerprint=fingerprint).exists()
    if not lifespans_unchanged:
        # Until this refresh is done, the stored expiries follow no one set of lifespans: a
        # refresh that fails half-way leaves the next one to recompute everything.
        progress.update(lifespans_fingerprint="")
    merger = _Merger(
        realm=realm,
        stamp=stamp,
        lifespans=lifespans,
        overrides=overrides,
        stored={},
        lifespans_unchanged=lifespans_unchanged,
    )
    pages_done = 0
    progress_at = time.monotonic()
    for page in client_pages_iter(
        gateway=gateway,
        realm=realm,
        plans=plans,
        concurrency=concurrency,
        on_wait=heartbeat.tick,
    ):
        heartbeat.tick()
        if pages_done == 0:
            # Read what the index holds while the next pages are on their way (nothing of
            # this refresh is written yet).
            merger.stored = _stored_rows(realm)
        merger.add(page)
        pages_done += 1
        if len(merger.dirty) >= WRITE_BATCH:
            with transaction.atomic():
                # Inside the write's transaction: a revoke is either in it or after it.
                _rows_write(merger.take_rows(_revoked_since(realm=realm, stamp=stamp)))
        if time.monotonic() - progress_at >= PROGRESS_EVERY_S:
            progress_at = time.monotonic()
            progress.update(
                progress_done=pages_done,
                # Longer lists than the statistics said: the bar grows rather than overflows.
                progress_total=max(total_pages, pages_done + 1),
                sessions_seen=len(merger.seen),
            )

    heartbeat.tick()
    if pages_done == 0:  # no list to page: every stored row goes
        merger.stored = _stored_rows(realm)
    with transaction.atomic():
        # The end is written only while the claim holds (a refresh that took over after this
        # one's lease lapsed owns the realm now); the rest rolls back with it.
        finished = progress.filter(state=RealmIndex.State.RUNNING).update(
            state=RealmIndex.State.DONE,
            refreshed_at=stamp,
            heartbeat_at=None,
            progress_done=pages_done,
            progress_total=pages_done,
            sessions_seen=len(merger.seen),
            error="",
            lifespans_fingerprint=fingerprint,
        )
        if not finished:
            raise RefreshCutOff
        revoked = _revoked_since(realm=realm, stamp=stamp)
        _rows_write(merger.take_rows(revoked))
        # What is left of the stored rows: the unchanged ones and the ones no list showed.
        _unseen_drop(stored=merger.stored, seen=merger.seen)
        _revoked_rows_drop(realm=realm, seen=merger.seen, revoked=revoked)
        # Every page of a later refresh is read after this one's claim: older tombstones
        # can no longer bring anything back.
        session_tombstones_prune(realm=realm, before=stamp)
        if revoked:
            progress.update(sessions_seen=IndexedSession.objects.filter(realm=realm).count())
    return len(merger.seen)


def realm_index_refresh_all(
    *, gateway_factory: Callable[[], Gateway] = gateway_for_worker
) -> list[RealmIndex]:
    """Refresh every realm the acting account can see, one after the other (the schedule)."""
    realms = [realm.name for realm in gateway_factory().realms_list()]
    return [realm_index_refresh(realm=name, gateway_factory=gateway_factory) for name in realms]
