"""The emulator's data model: clock, realms, clients, users, roles, groups."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tokenadmin.emulator.defaults import client_defaults, realm_defaults
from tokenadmin.emulator.sessions import SessionIndex

_NS = uuid.UUID("6f1c2d0e-5b1a-4c8e-9a57-2f3f0c6b7a10")


def stable_id(*parts: str) -> str:
    """A deterministic uuid for seeded and built-in things, stable across resets."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


def new_id() -> str:
    return str(uuid.uuid4())


class Clock:
    """Wall time plus an offset the test hooks move; everything reads time from here."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> int:
        return int(time.time() + self.offset)

    def now_ms(self) -> int:
        return int((time.time() + self.offset) * 1000)

    def set(self, epoch_s: float) -> None:
        self.offset = float(epoch_s) - time.time()

    def advance(self, seconds: float) -> None:
        self.offset += float(seconds)


@dataclass(eq=False)
class Role:
    id: str
    name: str
    container_id: str  # realm id or client uuid
    client_role: bool = False
    description: str | None = None
    composite_ids: set[str] = field(default_factory=set)
    attributes: dict[str, list[str]] = field(default_factory=dict)

    def rep(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.description is not None:
            out["description"] = self.description
        out["composite"] = bool(self.composite_ids)
        out["clientRole"] = self.client_role
        out["containerId"] = self.container_id
        return out


@dataclass(eq=False)
class Client:
    id: str
    client_id: str
    rep: dict[str, Any] = field(default_factory=client_defaults)
    secret: str | None = None
    roles: dict[str, Role] = field(default_factory=dict)
    service_account_user_id: str | None = None
    builtin: bool = False
    # The client's own protocol mappers (representations), e.g. an audience mapper.
    protocol_mappers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def public(self) -> bool:
        return bool(self.rep.get("publicClient"))

    def attr(self, name: str) -> str | None:
        value = (self.rep.get("attributes") or {}).get(name)
        return None if value in (None, "") else str(value)

    def attr_int(self, name: str) -> int:
        try:
            return int(float(self.attr(name) or 0))
        except ValueError:
            return 0


@dataclass(eq=False)
class User:
    id: str
    username: str
    created_ms: int
    enabled: bool = True
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email_verified: bool = False
    password: str | None = None
    password_created_ms: int = 0
    password_id: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    required_actions: list[str] = field(default_factory=list)
    role_ids: set[str] = field(default_factory=set)
    group_ids: set[str] = field(default_factory=set)
    not_before: int = 0
    # client uuid -> {"created": ms, "updated": ms, "scopes": [...]}
    consents: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_account_client_id: str | None = None


@dataclass(eq=False)
class Group:
    id: str
    name: str
    parent_id: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    role_ids: set[str] = field(default_factory=set)
    member_ids: set[str] = field(default_factory=set)


class Realm:
    def __init__(self, realm_id: str, name: str, keys: Any, clock: Clock) -> None:
        self.id = realm_id
        self.clock = clock
        self.name = name
        self.rep: dict[str, Any] = realm_defaults()
        self.keys = keys
        self.roles: dict[str, Role] = {}
        self.role_by_id: dict[str, Role] = {}
        self.clients: dict[str, Client] = {}
        self.client_by_client_id: dict[str, Client] = {}
        self.users: dict[str, User] = {}
        self.user_by_name: dict[str, User] = {}
        self.user_by_email: dict[str, User] = {}
        self._sorted_user_ids: list[str] | None = None
        self.groups: dict[str, Group] = {}
        self.default_role: Role | None = None
        self.sessions = SessionIndex(self)
        self.events: list[dict[str, Any]] = []
        self.admin_events: list[dict[str, Any]] = []
        self.revoked_jti: dict[str, int] = {}  # revoked access tokens: jti -> exp
        # authorization codes: code -> details; SSO login pages: tab id -> auth request
        self.codes: dict[str, dict[str, Any]] = {}
        self.auth_sessions: dict[str, dict[str, Any]] = {}
        # The device grant (device.py): device code -> its state; user code -> device code.
        self.device_codes: dict[str, dict[str, Any]] = {}
        self.user_codes: dict[str, str] = {}

    # -- settings ---------------------------------------------------------------------------
    def setting(self, name: str) -> Any:
        return self.rep.get(name)

    def int_setting(self, name: str) -> int:
        try:
            return int(self.rep.get(name) or 0)
        except (TypeError, ValueError):
            return 0

    # -- roles ------------------------------------------------------------------------------
    def add_role(self, role: Role, client: Client | None = None) -> Role:
        (client.roles if client else self.roles)[role.name] = role
        self.role_by_id[role.id] = role
        return role

    def remove_role(self, role: Role, client: Client | None = None) -> None:
        (client.roles if client else self.roles).pop(role.name, None)
        self.role_by_id.pop(role.id, None)
        for other in self.role_by_id.values():
            other.composite_ids.discard(role.id)
        for user in self.users.values():
            user.role_ids.discard(role.id)
        for group in self.groups.values():
            group.role_ids.discard(role.id)

    def expand_roles(self, role_ids: set[str]) -> set[str]:
        """Role ids plus every composite reachable from them."""
        seen: set[str] = set()
        stack = list(role_ids)
        while stack:
            rid = stack.pop()
            if rid in seen:
                continue
            seen.add(rid)
            role = self.role_by_id.get(rid)
            if role is not None:
                stack.extend(role.composite_ids)
        return seen

    def user_role_ids(self, user: User) -> set[str]:
        direct = set(user.role_ids)
        for gid in user.group_ids:
            group = self.groups.get(gid)
            while group is not None:
                direct |= group.role_ids
                group = self.groups.get(group.parent_id) if group.parent_id else None
        return self.expand_roles(direct)

    # -- clients ----------------------------------------------------------------------------
    def add_client(self, client: Client) -> Client:
        self.clients[client.id] = client
        self.client_by_client_id[client.client_id] = client
        return client

    def remove_client(self, client: Client) -> None:
        self.sessions.drop_client(client.id)
        for role in list(client.roles.values()):
            self.remove_role(role, client)
        self.clients.pop(client.id, None)
        self.client_by_client_id.pop(client.client_id, None)
        for user in self.users.values():
            user.consents.pop(client.id, None)
        if client.service_account_user_id:
            account = self.users.get(client.service_account_user_id)
            if account:
                self.remove_user(account)

    def management_client(self) -> Client | None:
        return self.client_by_client_id.get("realm-management")

    # -- users ------------------------------------------------------------------------------
    def add_user(self, user: User) -> User:
        self.users[user.id] = user
        self.user_by_name[user.username] = user
        if user.email:
            self.user_by_email[user.email.lower()] = user
        self._sorted_user_ids = None
        return user

    def rename_user(self, user: User, username: str | None, email: str | None) -> None:
        if username is not None and username != user.username:
            self.user_by_name.pop(user.username, None)
            user.username = username
            self.user_by_name[username] = user
            self._sorted_user_ids = None
        if email is not None and (email or None) != user.email:
            if user.email:
                self.user_by_email.pop(user.email.lower(), None)
            user.email = email or None
            if user.email:
                self.user_by_email[user.email.lower()] = user

    def remove_user(self, user: User) -> None:
        self.sessions.drop_user(user.id)
        self.users.pop(user.id, None)
        self.user_by_name.pop(user.username, None)
        if user.email:
            self.user_by_email.pop(user.email.lower(), None)
        for gid in user.group_ids:
            group = self.groups.get(gid)
            if group:
                group.member_ids.discard(user.id)
        self._sorted_user_ids = None

    def sorted_users(self) -> list[User]:
        if self._sorted_user_ids is None:
            self._sorted_user_ids = [
                u.id for u in sorted(self.users.values(), key=lambda u: u.username)
            ]
        return [self.users[uid] for uid in self._sorted_user_ids]

    def find_login_user(self, name: str) -> User | None:
        name = name.strip().lower()
        user = self.user_by_name.get(name)
        if user is None and self.rep.get("loginWithEmailAllowed", True):
            user = self.user_by_email.get(name)
        return user

    def effective_not_before(self, client: Client | None, user: User | None) -> int:
        values = [self.int_setting("notBefore")]
        if client is not None:
            values.append(int(client.rep.get("notBefore") or 0))
        if user is not None:
            values.append(user.not_before)
        return max(values)


class Store:
    def __init__(self) -> None:
        self.clock = Clock()
        self.realms: dict[str, Realm] = {}

    def realm(self, name: str) -> Realm | None:
        return self.realms.get(name)
