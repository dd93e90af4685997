"""Helpers shared by the admin REST modules: lookups with Keycloak's 404 texts, rights checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenadmin.emulator.authz import require, require_any
from tokenadmin.emulator.events import record_admin_event
from tokenadmin.emulator.http import Ctx, HttpError, not_found

if TYPE_CHECKING:
    from typing import Any

    from tokenadmin.emulator.store import Client, Group, Realm, Role, User

__all__ = [
    "admin_event",
    "admin_realm",
    "find_client",
    "find_group",
    "find_role",
    "find_user",
    "require",
    "require_any",
]


def admin_realm(ctx: Ctx) -> Realm:
    realm = ctx.store.realm(ctx.params["realm"])
    if realm is None:
        raise not_found("Realm not found.")
    return realm


def find_client(realm: Realm, cu: str, text: str = "Could not find client") -> Client:
    client = realm.clients.get(cu)
    if client is None:
        raise not_found(text)
    return client


def find_user(realm: Realm, uid: str) -> User:
    user = realm.users.get(uid)
    if user is None:
        raise not_found("User not found")
    return user


def find_group(realm: Realm, gid: str) -> Group:
    group = realm.groups.get(gid)
    if group is None:
        raise not_found("Could not find group by id")
    return group


def find_role(realm: Realm, name: str, client: Client | None = None) -> Role:
    role = (client.roles if client else realm.roles).get(name)
    if role is None:
        raise not_found("Could not find role")
    return role


def admin_event(
    ctx: Ctx, realm: Realm, operation: str, resource_type: str, path: str, rep: Any = None
) -> None:
    record_admin_event(realm, ctx.auth, operation, resource_type, path, rep, ctx.client_ip)


def paging(ctx: Ctx, default_max: int) -> tuple[int, int]:
    first = max(ctx.int_query("first", 0), 0)
    max_ = ctx.int_query("max", default_max)
    if max_ < 0:
        max_ = 10**9
    return first, max_


def bad_request(text: str) -> HttpError:
    return HttpError(400, {"errorMessage": text})
