"""Reads for the realms overview."""

from dataclasses import dataclass

from tokenadmin.accounts.rights import AdminRights
from tokenadmin.keycloak import Forbidden, Gateway, NotFound
from tokenadmin.keycloak.types import Realm


@dataclass(frozen=True)
class RealmRow:
    realm: Realm
    # Summed over clients from client-session-stats; None when the admin may not see them.
    active_client_sessions: int | None
    offline_client_sessions: int | None
    clients_with_sessions: int | None
    # The admin's rights on this realm, for display ("all" for master's admin role).
    my_rights: tuple[str, ...]
    # Which of the realm's pages to offer; Keycloak still checks every call.
    can_view_sessions: bool
    can_view_lifespans: bool
    can_revoke: bool


def realms_overview_select(*, gateway: Gateway, rights: AdminRights) -> list[RealmRow]:
    """Every realm the admin may see, with its session counts and lifespans where allowed."""
    rows = []
    for realm in sorted(gateway.realms_list(), key=lambda r: (r.name != "master", r.name)):
        active = offline = clients = None
        if rights.can(realm.name, "view-realm"):
            try:
                stats = gateway.client_session_stats(realm.name)
            except (Forbidden, NotFound):
                stats = None
            if stats is not None:
                active = sum(s.active for s in stats)
                offline = sum(s.offline for s in stats)
                clients = len(stats)
        my_rights = (
            ("all",) if rights.is_superadmin else tuple(sorted(rights.by_realm.get(realm.name, ())))
        )
        rows.append(
            RealmRow(
                realm,
                active,
                offline,
                clients,
                my_rights,
                can_view_sessions=rights.can(realm.name, "view-users"),
                can_view_lifespans=rights.can(realm.name, "view-realm"),
                can_revoke=rights.can(realm.name, "manage-users"),
            )
        )
    return rows


def realm_names_select(*, gateway: Gateway, rights: AdminRights, right: str) -> list[str]:
    """The realms Keycloak shows the admin on which their roles grant `right`, master first."""
    names = [realm.name for realm in gateway.realms_list() if rights.can(realm.name, right)]
    return sorted(names, key=lambda name: (name != "master", name))
