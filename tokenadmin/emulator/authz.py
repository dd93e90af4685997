"""Admin REST authorization as Keycloak's AdminAuth: bearer checks and realm-management rights."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tokenadmin.emulator.defaults import IMPLIED_BY, MANAGEMENT_ROLES
from tokenadmin.emulator.http import FORBIDDEN, UNAUTHORIZED, Ctx, HttpError
from tokenadmin.emulator.tokens import unverified_claims, verify

if TYPE_CHECKING:
    from tokenadmin.emulator.store import Client, Realm, Store, User

ALL_RIGHTS = frozenset((*MANAGEMENT_ROLES, "realm-admin"))


@dataclass
class AdminAuth:
    realm: Realm  # the realm the token was issued by
    user: User
    client: Client | None
    claims: dict
    _cache: dict[str, frozenset[str]] = field(default_factory=dict)

    def rights(self, store: Store, target: str) -> frozenset[str]:
        """realm-management role names this caller holds on the target realm, composites expanded."""  # noqa: E501
        cached = self._cache.get(target)
        if cached is not None:
            return cached
        realm = self.realm
        role_ids = realm.user_role_ids(self.user)
        names: set[str] = set()
        if realm.name == "master":
            mgmt = realm.client_by_client_id.get(f"{target}-realm")
        elif realm.name == target:
            mgmt = realm.management_client()
        else:
            mgmt = None
        if mgmt is not None:
            names = {r.name for r in mgmt.roles.values() if r.id in role_ids}
        if "realm-admin" in names:
            names |= ALL_RIGHTS
        result = frozenset(names)
        self._cache[target] = result
        return result

    def has(self, store: Store, target: str, right: str) -> bool:
        rights = self.rights(store, target)
        return right in rights or any(r in rights for r in IMPLIED_BY.get(right, ()))

    def is_master_admin(self) -> bool:
        if self.realm.name != "master":
            return False
        admin = self.realm.roles.get("admin")
        return admin is not None and admin.id in self.realm.user_role_ids(self.user)

    def can_create_realm(self) -> bool:
        if self.realm.name != "master":
            return False
        role = self.realm.roles.get("create-realm")
        return role is not None and role.id in self.realm.user_role_ids(self.user)


def authenticate(ctx: Ctx) -> AdminAuth:
    """Verify the bearer token: signature, exp, not-before, user and session alive; else 401."""
    header = ctx.request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise HttpError(401, UNAUTHORIZED)
    token = header[7:].strip()
    claims = unverified_claims(token)
    if not claims or not isinstance(claims.get("iss"), str):
        raise HttpError(401, UNAUTHORIZED)
    realm_name = claims["iss"].rsplit("/realms/", 1)[-1]
    realm = ctx.store.realm(realm_name)
    if realm is None or verify(realm.keys, token) is None:
        raise HttpError(401, UNAUTHORIZED)
    now = ctx.store.clock.now()
    if (
        claims.get("typ") != "Bearer"
        or not isinstance(claims.get("exp"), int)
        or claims["exp"] < now
    ):
        raise HttpError(401, UNAUTHORIZED)
    user = realm.users.get(str(claims.get("sub")))
    client = realm.client_by_client_id.get(str(claims.get("azp")))
    if user is None or not user.enabled or client is None:
        raise HttpError(401, UNAUTHORIZED)
    if int(claims.get("iat") or 0) < realm.effective_not_before(client, user):
        raise HttpError(401, UNAUTHORIZED)
    sid = claims.get("sid")
    if sid is not None:
        session = realm.sessions.get(sid, False) or realm.sessions.get(sid, True)
        if session is None or session.user_id != user.id:
            raise HttpError(401, UNAUTHORIZED)
    elif not user.service_account_client_id:
        raise HttpError(401, UNAUTHORIZED)
    return AdminAuth(realm, user, client, claims)


def require(ctx: Ctx, target: str, right: str) -> None:
    auth: AdminAuth = ctx.auth
    if not auth.has(ctx.store, target, right):
        raise HttpError(403, FORBIDDEN)


def require_any(ctx: Ctx, target: str) -> None:
    auth: AdminAuth = ctx.auth
    if not auth.rights(ctx.store, target):
        raise HttpError(403, FORBIDDEN)
