"""What the logged-in admin may do, read from their access token's roles.

Only decides what to show: Keycloak checks every call again with the admin's own token.
"""

from dataclasses import dataclass, field

from django.conf import settings

MASTER = "master"
# Keycloak's composite roles: holding the key grants the values too.
IMPLIED_RIGHTS: dict[str, tuple[str, ...]] = {
    "manage-users": ("view-users", "query-users", "query-groups"),
    "view-users": ("query-users", "query-groups"),
    "manage-clients": ("view-clients", "query-clients"),
    "view-clients": ("query-clients",),
    "manage-realm": ("view-realm",),
    "manage-events": ("view-events",),
}
ALL_RIGHTS = frozenset(
    {
        "view-realm",
        "manage-realm",
        "view-users",
        "manage-users",
        "query-users",
        "query-groups",
        "view-clients",
        "manage-clients",
        "query-clients",
        "view-events",
        "manage-events",
    }
)


def _expand(roles: set[str]) -> frozenset[str]:
    if "realm-admin" in roles:
        return ALL_RIGHTS
    expanded = set(roles)
    for role in roles:
        expanded.update(IMPLIED_RIGHTS.get(role, ()))
    return frozenset(expanded & ALL_RIGHTS)


@dataclass(frozen=True)
class AdminRights:
    is_superadmin: bool = False
    by_realm: dict[str, frozenset[str]] = field(default_factory=dict)

    def can(self, realm: str, right: str) -> bool:
        return self.is_superadmin or right in self.by_realm.get(realm, frozenset())

    def any_right(self) -> bool:
        return self.is_superadmin or any(self.by_realm.values())

    @classmethod
    def from_claims(cls, claims: dict) -> "AdminRights":
        """Keycloak's rules: master `admin` may do all; `<realm>-realm` clients in master, or
        `realm-management` for an admin who logs in to the realm itself, grant per realm."""
        login_realm = settings.KEYCLOAK_REALM
        realm_roles = set(claims.get("realm_access", {}).get("roles", []))
        resource_access = claims.get("resource_access", {})
        if login_realm == MASTER and "admin" in realm_roles:
            return cls(is_superadmin=True)
        by_realm: dict[str, frozenset[str]] = {}
        if login_realm == MASTER:
            for client_id, access in resource_access.items():
                if client_id.endswith("-realm"):
                    rights = _expand(set(access.get("roles", [])))
                    if rights:
                        by_realm[client_id.removesuffix("-realm")] = rights
        else:
            rights = _expand(set(resource_access.get("realm-management", {}).get("roles", [])))
            if rights:
                by_realm[login_realm] = rights
        return cls(by_realm=by_realm)

    def as_session(self) -> dict:
        return {
            "is_superadmin": self.is_superadmin,
            "by_realm": {realm: sorted(rights) for realm, rights in self.by_realm.items()},
        }

    @classmethod
    def from_session(cls, data: dict | None) -> "AdminRights":
        if not data:
            return cls()
        return cls(
            is_superadmin=bool(data.get("is_superadmin")),
            by_realm={realm: frozenset(r) for realm, r in data.get("by_realm", {}).items()},
        )
