"""From a job's recipe to its items: the full list of sessions to revoke, built by the worker.

The preview (bulk.py) only counts and samples; the job reads the list when it runs: live from
Keycloak for the client, group and realm recipes, from the index for filters and selections.
Targets stream into the items table in chunks (a plain INSERT that skips a session already
listed), so memory stays flat at a million sessions and a build cut off half-way is simply
run again.
"""

import time
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from tokenadmin.core.sqlite import unmapped_reads
from tokenadmin.keycloak import Gateway, NotFound
from tokenadmin.keycloak.sessions import PAGE_SIZE
from tokenadmin.keycloak.types import KcSession
from tokenadmin.sessionindex.filters import filters_from_query
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.selectors import indexed_sessions_select

from .models import RevocationItem, RevocationJob
from .recipes import OWN_SESSION_WHY, Kind, Recipe, Target

# Items written per INSERT (and per lease renewal in the worker).
CHUNK = 2000
WRITE_EVERY_S = 1.0
# The index's columns a target is made of, read as plain tuples (no model instance per row).
INDEX_COLUMNS = (
    "session_id",
    "offline",
    "user_id",
    "username",
    "ip_address",
    "client_ids_text",
    "started_at",
    "last_access_at",
)


def target_of_kc(session: KcSession) -> Target:
    return Target(
        session_id=session.id,
        offline=session.offline,
        user_id=session.user_id,
        username=session.username,
        ip_address=session.ip_address,
        client_ids=tuple(sorted(session.clients.values())),
        started_at=session.started_at,
        last_access_at=session.last_access_at,
    )


def target_of_row(row: tuple) -> Target:
    """A target from a tuple of INDEX_COLUMNS."""
    session_id, offline, user_id, username, ip, clients_text, started, last = row
    return Target(
        session_id=session_id,
        offline=offline,
        user_id=user_id,
        username=username,
        ip_address=ip,
        client_ids=tuple(sorted(clients_text.split())),
        started_at=started,
        last_access_at=last,
    )


# --- live from Keycloak --------------------------------------------------------------------------


def _client_sessions(
    admin: Gateway, realm: str, client_uuid: str, *, offline: bool
) -> Iterator[KcSession]:
    first = 0
    while True:
        page = admin.client_sessions_page(realm, client_uuid, offline=offline, first=first)
        yield from page
        if len(page) < PAGE_SIZE:
            return
        first += PAGE_SIZE


def _client_uuid(admin: Gateway, realm: str, client_id: str) -> str:
    client = admin.client_by_client_id(realm, client_id)
    if client is None:
        raise NotFound(f"find client {client_id} in {realm}", "Could not find client")
    return client.uuid


def _live_for_client(admin: Gateway, realm: str, recipe: Recipe) -> Iterator[Target]:
    uuid = _client_uuid(admin, realm, recipe.client_id)
    if recipe.kind == Kind.OFFLINE_OLDER_THAN:
        cutoff = timezone.now() - timedelta(days=recipe.older_than_days)
        for session in _client_sessions(admin, realm, uuid, offline=True):
            if session.started_at < cutoff:
                yield target_of_kc(session)
        return
    for session in _client_sessions(admin, realm, uuid, offline=False):
        yield target_of_kc(session)
    if recipe.include_offline:
        for session in _client_sessions(admin, realm, uuid, offline=True):
            yield target_of_kc(session)


def live_for_group(admin: Gateway, realm: str, recipe: Recipe) -> Iterator[Target]:
    """Every session of the group's members (their offline ones too if asked), live."""
    clients: dict[str, str] | None = None
    first = 0
    while True:
        members = admin.group_members_page(realm, recipe.group_id, first=first)
        for user in members:
            clients = yield from _live_for_one_user(
                admin, realm, user.id, offline=recipe.include_offline, clients=clients
            )
        if len(members) < PAGE_SIZE:
            return
        first += PAGE_SIZE


def live_for_user(admin: Gateway, realm: str, recipe: Recipe) -> Iterator[Target]:
    """Every session of one user (their offline ones too if asked), live: an off-boarding
    misses no session begun since the index's last refresh."""
    yield from _live_for_one_user(
        admin, realm, recipe.user_id, offline=recipe.include_offline, clients=None
    )


def _live_for_one_user(
    admin: Gateway, realm: str, user_id: str, *, offline: bool, clients: dict[str, str] | None
) -> Generator[Target, None, dict[str, str] | None]:
    """One user's sessions; offline ones by the clients they consented to offline access.
    Returns the realm's clients (clientId → uuid) once read, for the next user."""
    for session in admin.user_sessions(realm, user_id):
        yield target_of_kc(session)
    if not offline:
        return clients
    holders = {c.client_id for c in admin.user_consents(realm, user_id) if c.offline_token}
    if holders and clients is None:
        clients = {c.client_id: c.uuid for c in admin.clients_list(realm)}
    for client_id in sorted(holders):
        if clients and client_id in clients:
            for session in admin.user_offline_sessions(realm, user_id, clients[client_id]):
                yield target_of_kc(session)
    return clients


def _live_for_realm(admin: Gateway, realm: str) -> Iterator[Target]:
    """Every online session, client by client (a session on two clients comes twice; the
    items' unique key keeps one)."""
    for client in admin.clients_list(realm):
        for session in _client_sessions(admin, realm, client.uuid, offline=False):
            yield target_of_kc(session)


# --- from the index ------------------------------------------------------------------------------


def parse_selection(values: Iterable[str]) -> list[tuple[str, bool]]:
    keys = []
    for value in values:
        session_id, _, kind = value.strip().partition(":")
        if session_id:
            keys.append((session_id, kind == "offline"))
    return keys


def index_for_selection(realm: str, recipe: Recipe) -> Iterator[Target]:
    """Ticked sessions, described from the index; an id the index lacks is still revoked."""
    keys = parse_selection(recipe.sessions)
    rows = IndexedSession.objects.filter(realm=realm, session_id__in=[sid for sid, _ in keys])
    known = {(row[0], row[1]): row for row in rows.values_list(*INDEX_COLUMNS)}
    for key in keys:
        row = known.get(key)
        yield target_of_row(row) if row else Target(session_id=key[0], offline=key[1])


def _index_for_filter(realm: str, recipe: Recipe) -> Iterator[Target]:
    # Live sessions only, as the sessions page lists them: one that ended since the last
    # refresh is no target (Keycloak no longer holds it). The query was frozen in the plan.
    rows = indexed_sessions_select(realm=realm, filters=filters_from_query(recipe.query))
    for row in rows.values_list(*INDEX_COLUMNS).iterator(chunk_size=CHUNK):
        yield target_of_row(row)


def targets_found(admin: Gateway, realm: str, recipe: Recipe) -> Iterator[Target]:
    """Every session the recipe names now (duplicates possible), as a stream."""
    if recipe.kind in (Kind.CLIENT, Kind.OFFLINE_OLDER_THAN):
        return _live_for_client(admin, realm, recipe)
    if recipe.kind == Kind.GROUP:
        return live_for_group(admin, realm, recipe)
    if recipe.kind == Kind.USER:
        return live_for_user(admin, realm, recipe)
    if recipe.kind == Kind.REALM:
        return _live_for_realm(admin, realm)
    if recipe.kind == Kind.SELECTION:
        return index_for_selection(realm, recipe)
    if recipe.kind == Kind.FILTER:
        return _index_for_filter(realm, recipe)
    raise ValueError(f"unknown recipe {recipe.kind!r}")


# --- into the items table ------------------------------------------------------------------------

_ITEM_COLUMNS = (
    "job",
    "session_id",
    "offline",
    "user_id",
    "username",
    "ip_address",
    "client_ids",
    "started_at",
    "last_access_at",
    "state",
    "attempts",
    "error",
)


def _adapt(moment: datetime | None) -> object:
    if moment is not None and timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return connection.ops.adapt_datetimefield_value(moment)


def _items_insert(*, job_id: int, targets: list[Target]) -> None:
    """One pending item per target, as one executemany of a plain INSERT that skips a session
    the job already lists (a session on two clients, or a build run again after a crash).

    bulk_create builds a model instance per row: 1.7 s for 10,000 items, as long as revoking
    them; the same INSERT with plain tuples takes a tenth of that.
    """
    column_of = {f.name: str(f.column) for f in RevocationItem._meta.concrete_fields}
    quote = connection.ops.quote_name
    # Names come from the model, values go as parameters. ON CONFLICT DO NOTHING: SQLite
    # 3.24+ and PostgreSQL both take it.
    sql = "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING".format(  # noqa: S608
        quote(RevocationItem._meta.db_table),
        ", ".join(quote(column_of[name]) for name in _ITEM_COLUMNS),
        ", ".join(["%s"] * len(_ITEM_COLUMNS)),
    )
    rows: list[Any] = [
        (
            job_id,
            t.session_id,
            t.offline,
            t.user_id,
            t.username[:255],
            t.ip_address[:64],
            " ".join(t.client_ids)[:1000],
            _adapt(t.started_at),
            _adapt(t.last_access_at),
            RevocationItem.State.PENDING.value,
            0,
            "",
        )
        for t in targets
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def revocation_job_targets_build(
    *,
    job: RevocationJob,
    admin: Gateway,
    stop_after: int | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> bool:
    """List the job's sessions into its items, streaming; True once the list is complete.

    The sessions in `job.spared_session_ids` (the acting admin's own) are never listed; one
    met is recorded in `job.excluded`. With `stop_after`, gives up (False) once more targets
    than that turn up: the request that tried it leaves the job to a worker. `keep_going` is
    asked after each chunk (the worker renews its lease there); False stops the build.
    Running it again is harmless: listed sessions are skipped.
    """
    with unmapped_reads():
        return _targets_build(job=job, admin=admin, stop_after=stop_after, keep_going=keep_going)


def _targets_build(
    *,
    job: RevocationJob,
    admin: Gateway,
    stop_after: int | None,
    keep_going: Callable[[], bool],
) -> bool:
    spared = set(job.spared_session_ids)
    excluded = list(job.excluded)
    listed_spared = {ex["session_id"] for ex in excluded}
    chunk: list[Target] = []
    found = 0
    last_write = time.monotonic()
    for target in targets_found(admin, job.realm, Recipe.from_dict(job.recipe)):
        if target.session_id in spared:
            if target.session_id not in listed_spared:
                listed_spared.add(target.session_id)
                excluded.append(
                    {
                        "session_id": target.session_id,
                        "username": target.username,
                        "why": OWN_SESSION_WHY,
                    }
                )
            continue
        chunk.append(target)
        found += 1
        if stop_after is not None and found > stop_after:
            _items_insert(job_id=job.pk, targets=chunk)
            return False
        # Written every CHUNK targets, or every second while Keycloak pages in slowly, so the
        # worker's lease is renewed well within its few seconds.
        if len(chunk) >= CHUNK or time.monotonic() - last_write >= WRITE_EVERY_S:
            _items_insert(job_id=job.pk, targets=chunk)
            chunk.clear()
            last_write = time.monotonic()
            if not keep_going():
                return False
    with transaction.atomic():
        _items_insert(job_id=job.pk, targets=chunk)
        job.total = job.items.count()
        job.excluded = excluded
        job.targets_ready = True
        RevocationJob.objects.filter(pk=job.pk).update(
            total=job.total, excluded=excluded, targets_ready=True
        )
    return True
