"""Who may see and edit which reports: a report reads the sessions of its realms, so it is the
admin's only if they may view the users of every one of them."""

from collections.abc import Iterable

from tokenadmin.accounts.rights import AdminRights
from tokenadmin.keycloak import Gateway

from .models import ExpiryReport

RIGHT = "view-users"


def report_visible(report: ExpiryReport, rights: AdminRights) -> bool:
    """A report bound to no realm (data from before realms were always stored) is master's
    admin's alone: all() of nothing would let everyone in."""
    realms = report.report_realms
    if not realms:
        return rights.is_superadmin
    return all(rights.can(realm, RIGHT) for realm in realms)


def reports_visible(reports: Iterable[ExpiryReport], rights: AdminRights) -> list[ExpiryReport]:
    return [report for report in reports if report_visible(report, rights)]


def report_realm_choices_select(*, gateway: Gateway, rights: AdminRights) -> list[str]:
    """The realms the admin may build a report on: every realm for master's admin, else the
    realms where their roles grant RIGHT."""
    if rights.is_superadmin:
        return sorted(realm.name for realm in gateway.realms_list())
    return sorted(realm for realm in rights.by_realm if rights.can(realm, RIGHT))
