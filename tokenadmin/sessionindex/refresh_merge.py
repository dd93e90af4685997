"""Merging the pages of a refresh: a session listed under several clients becomes one row,
compared with its stored row so that unchanged sessions are left alone."""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from tokenadmin.keycloak.types import KcSession

from .expiry import (
    NO_OVERRIDES,
    ClientActivity,
    ClientOverrides,
    EffectiveLifespans,
    SessionTimes,
    session_expiry_predict,
)
from .models import ASCII_LOWER, SEARCH_SEPARATOR
from .paging import Page
from .refresh_store import Stored, Writes, _datetime_adapter


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
        # search_text_of's lowering, chosen once (it asks the connection's vendor per call).
        self._lower = _ascii_lower if connection.vendor == "sqlite" else str.lower
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
                    self._lower(
                        SEARCH_SEPARATOR.join((first.username, first.ip_address, client_ids_text))
                    ),
                )
            )
            if (replaced := self.stored.pop(key, None)) is not None:
                writes.replaced.append(replaced.pk)
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


def _ascii_lower(text: str) -> str:
    return text.translate(ASCII_LOWER)


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
