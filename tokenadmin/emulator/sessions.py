"""User and client sessions, their per-realm indexes, and Keycloak's expiry arithmetic.

Each realm keeps two buckets (online, offline). A bucket indexes sessions by id, by user and by
client (insertion-ordered dicts), caches the per-client id list for O(max) paging, and keeps a
heap of expiry instants so expired sessions are dropped lazily before every read: an expired
session is never listed or counted, without scanning the realm.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenadmin.emulator.store import Client, Realm

_seq = itertools.count()


def pos(value: Any, default: int) -> int:
    try:
        number = int(float(value or 0))
    except (TypeError, ValueError):
        number = 0
    return number if number > 0 else default


class ClientSession:
    __slots__ = ("client_id", "current_refresh", "expires", "start", "timestamp", "use_count")

    def __init__(self, client_id: str, start: int, timestamp: int) -> None:
        self.client_id = client_id
        self.start = start
        self.timestamp = timestamp
        self.current_refresh: str | None = None
        self.use_count = 0
        self.expires = 0


class UserSession:
    __slots__ = (
        "alive",
        "clients",
        "expires",
        "id",
        "ip",
        "last",
        "offline",
        "remember_me",
        "start",
        "user_id",
    )

    def __init__(
        self,
        sid: str,
        user_id: str,
        ip: str,
        start: int,
        last: int,
        remember_me: bool,
        offline: bool,
    ) -> None:
        self.id = sid
        self.user_id = user_id
        self.ip = ip
        self.start = start
        self.last = last
        self.remember_me = remember_me
        self.offline = offline
        self.clients: dict[str, ClientSession] = {}
        self.expires = 0
        self.alive = True


# -- expiry arithmetic (facts sheet §6) ---------------------------------------------------------
def session_limits(realm: Realm, us: UserSession) -> tuple[int, int | None]:
    """(idle, max) of a user session in seconds; max None = no maximum."""
    rep = realm.rep
    if not us.offline:
        idle = pos(rep.get("ssoSessionIdleTimeout"), 1800)
        mx = pos(rep.get("ssoSessionMaxLifespan"), 36000)
        if us.remember_me:
            idle = max(idle, pos(rep.get("ssoSessionIdleTimeoutRememberMe"), 0))
            mx = max(mx, pos(rep.get("ssoSessionMaxLifespanRememberMe"), 0))
        return idle, mx
    idle = pos(rep.get("offlineSessionIdleTimeout"), 2592000)
    if rep.get("offlineSessionMaxLifespanEnabled"):
        return idle, pos(rep.get("offlineSessionMaxLifespan"), 5184000)
    return idle, None


def session_expiry(realm: Realm, us: UserSession) -> int:
    if us.remember_me and not us.offline and not realm.rep.get("rememberMe"):
        return us.start  # Keycloak 26.4.2+: remember-me sessions die with the realm switch.
    idle, mx = session_limits(realm, us)
    expires = us.last + idle
    if mx is not None:
        expires = min(expires, us.start + mx)
    return expires


def session_max_expiry(realm: Realm, us: UserSession) -> int | None:
    _, mx = session_limits(realm, us)
    return None if mx is None else us.start + mx


def client_limits(realm: Realm, client: Client | None, us: UserSession) -> tuple[int, int | None]:
    idle_u, max_u = session_limits(realm, us)
    rep = realm.rep
    if not us.offline:
        idle = pos(client.attr("client.session.idle.timeout") if client else 0, 0) or pos(
            rep.get("clientSessionIdleTimeout"), idle_u
        )
        online_max = pos(client.attr("client.session.max.lifespan") if client else 0, 0) or pos(
            rep.get("clientSessionMaxLifespan"), max_u or 0
        )
        return min(idle, idle_u), min(online_max, max_u) if max_u else online_max
    idle = pos(client.attr("client.offline.session.idle.timeout") if client else 0, 0) or pos(
        rep.get("clientOfflineSessionIdleTimeout"), idle_u
    )
    client_max = pos(client.attr("client.offline.session.max.lifespan") if client else 0, 0)
    if not client_max and max_u is not None:
        client_max = pos(rep.get("clientOfflineSessionMaxLifespan"), max_u)
    mx: int | None = client_max or None
    if mx is not None and max_u is not None:
        mx = min(mx, max_u)
    return min(idle, idle_u), mx


def client_session_expiry(
    realm: Realm, client: Client | None, us: UserSession, cs: ClientSession
) -> int:
    idle, mx = client_limits(realm, client, us)
    expires = cs.timestamp + idle
    if mx is not None:
        expires = min(expires, cs.start + mx)
    return expires


def refresh_expiry(
    realm: Realm, client: Client | None, us: UserSession, cs: ClientSession, now: int
) -> int | None:
    """exp of a refresh token issued now; None = no exp (offline token without a maximum)."""
    idle, mx = client_limits(realm, client, us)
    if us.offline and mx is None:
        return None
    exp = now + idle
    if mx is not None:
        exp = min(exp, cs.start + mx)
    smax = session_max_expiry(realm, us)
    if smax is not None:
        exp = min(exp, smax)
    return exp


# -- the index ---------------------------------------------------------------------------------
class _Bucket:
    __slots__ = ("by_client", "by_id", "by_user", "client_cache", "heap")

    def __init__(self) -> None:
        self.by_id: dict[str, UserSession] = {}
        self.by_user: dict[str, dict[str, None]] = {}
        self.by_client: dict[str, dict[str, None]] = {}
        self.client_cache: dict[str, list[str]] = {}
        self.heap: list[tuple[int, int, UserSession, ClientSession | None]] = []


class SessionIndex:
    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        self.online = _Bucket()
        self.offline = _Bucket()

    def bucket(self, offline: bool) -> _Bucket:
        return self.offline if offline else self.online

    # -- writes ----------------------------------------------------------------------------
    def create(
        self,
        sid: str,
        user_id: str,
        ip: str,
        start: int,
        last: int | None = None,
        remember_me: bool = False,
        offline: bool = False,
    ) -> UserSession:
        b = self.bucket(offline)
        old = b.by_id.get(sid)
        if old is not None:
            self.remove(old)
        us = UserSession(
            sid, user_id, ip, start, start if last is None else last, remember_me, offline
        )
        b.by_id[sid] = us
        b.by_user.setdefault(user_id, {})[sid] = None
        us.expires = session_expiry(self.realm, us)
        heapq.heappush(b.heap, (us.expires, next(_seq), us, None))
        return us

    def attach(
        self, us: UserSession, client: Client, now: int, start: int | None = None
    ) -> ClientSession:
        cs = us.clients.get(client.id)
        if cs is None:
            cs = ClientSession(client.id, now if start is None else start, now)
            us.clients[client.id] = cs
            b = self.bucket(us.offline)
            b.by_client.setdefault(client.id, {})[us.id] = None
            b.client_cache.pop(client.id, None)
        else:
            cs.timestamp = now
        cs.expires = client_session_expiry(self.realm, client, us, cs)
        heapq.heappush(self.bucket(us.offline).heap, (cs.expires, next(_seq), us, cs))
        return cs

    def touch(self, us: UserSession, cs: ClientSession | None, now: int) -> None:
        """A refresh or SSO login: lastAccess of the session and the client session move."""
        b = self.bucket(us.offline)
        us.last = now
        us.expires = session_expiry(self.realm, us)
        heapq.heappush(b.heap, (us.expires, next(_seq), us, None))
        if cs is not None:
            cs.timestamp = now
            client = self.realm.clients.get(cs.client_id)
            cs.expires = client_session_expiry(self.realm, client, us, cs)
            heapq.heappush(b.heap, (cs.expires, next(_seq), us, cs))

    def detach(self, us: UserSession, client_uuid: str) -> None:
        """Remove one client from a session; an offline session without clients goes too."""
        if us.clients.pop(client_uuid, None) is None:
            return
        b = self.bucket(us.offline)
        holders = b.by_client.get(client_uuid)
        if holders is not None:
            holders.pop(us.id, None)
            if not holders:
                del b.by_client[client_uuid]
        b.client_cache.pop(client_uuid, None)
        if us.offline and not us.clients:
            self.remove(us)

    def remove(self, us: UserSession) -> None:
        if not us.alive:
            return
        us.alive = False
        b = self.bucket(us.offline)
        b.by_id.pop(us.id, None)
        mine = b.by_user.get(us.user_id)
        if mine is not None:
            mine.pop(us.id, None)
            if not mine:
                del b.by_user[us.user_id]
        for cu in us.clients:
            holders = b.by_client.get(cu)
            if holders is not None:
                holders.pop(us.id, None)
                if not holders:
                    del b.by_client[cu]
            b.client_cache.pop(cu, None)

    def drop_user(self, user_id: str) -> None:
        for b in (self.online, self.offline):
            for sid in list(b.by_user.get(user_id, ())):
                self.remove(b.by_id[sid])

    def drop_client(self, client_uuid: str) -> None:
        for b in (self.online, self.offline):
            for sid in list(b.by_client.get(client_uuid, ())):
                self.detach(b.by_id[sid], client_uuid)

    def clear(self, offline: bool) -> list[UserSession]:
        b = self.bucket(offline)
        gone = list(b.by_id.values())
        for us in gone:
            us.alive = False
        fresh = _Bucket()
        if offline:
            self.offline = fresh
        else:
            self.online = fresh
        return gone

    # -- expiry ----------------------------------------------------------------------------
    def purge(self) -> None:
        now = self.realm.clock.now()
        for b in (self.online, self.offline):
            heap = b.heap
            while heap and heap[0][0] <= now:
                expires, _, us, cs = heapq.heappop(heap)
                if not us.alive:
                    continue
                if cs is None:
                    if us.expires == expires:
                        self.remove(us)
                elif us.clients.get(cs.client_id) is cs and cs.expires == expires:
                    self.detach(us, cs.client_id)

    def recompute(self) -> None:
        """Realm or client settings changed: recompute every expiry, rebuild the heaps."""
        for b in (self.online, self.offline):
            entries: list[tuple[int, int, UserSession, ClientSession | None]] = []
            for us in b.by_id.values():
                us.expires = session_expiry(self.realm, us)
                entries.append((us.expires, next(_seq), us, None))
                for cs in us.clients.values():
                    client = self.realm.clients.get(cs.client_id)
                    cs.expires = client_session_expiry(self.realm, client, us, cs)
                    entries.append((cs.expires, next(_seq), us, cs))
            heapq.heapify(entries)
            b.heap = entries
        self.purge()

    # -- reads (all purge first) -----------------------------------------------------------
    def get(self, sid: str, offline: bool) -> UserSession | None:
        self.purge()
        return self.bucket(offline).by_id.get(sid)

    def of_user(self, user_id: str, offline: bool) -> list[UserSession]:
        self.purge()
        b = self.bucket(offline)
        return [b.by_id[sid] for sid in b.by_user.get(user_id, ())]

    def client_count(self, client_uuid: str, offline: bool) -> int:
        self.purge()
        return len(self.bucket(offline).by_client.get(client_uuid, ()))

    def client_page(
        self, client_uuid: str, offline: bool, first: int, max_: int
    ) -> list[UserSession]:
        self.purge()
        b = self.bucket(offline)
        ids = b.client_cache.get(client_uuid)
        if ids is None:
            ids = list(b.by_client.get(client_uuid, ()))
            b.client_cache[client_uuid] = ids
        return [b.by_id[sid] for sid in ids[first : first + max_]]

    def client_counts(self, offline: bool) -> dict[str, int]:
        self.purge()
        return {cu: len(ids) for cu, ids in self.bucket(offline).by_client.items()}

    def iter_all(self, offline: bool) -> Iterator[UserSession]:
        self.purge()
        return iter(list(self.bucket(offline).by_id.values()))

    def iter_client(self, client_uuid: str, offline: bool) -> Iterator[UserSession]:
        self.purge()
        b = self.bucket(offline)
        return iter([b.by_id[sid] for sid in b.by_client.get(client_uuid, ())])

    def count(self, offline: bool) -> int:
        self.purge()
        return len(self.bucket(offline).by_id)
