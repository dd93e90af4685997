"""Realms over the API: the realms page's list with counts, lifespans and the caller's rights."""

from django.http import HttpRequest
from ninja import Router

from tokenadmin.realms.selectors import realms_overview_select

from .auth import caller_of
from .schemas import ERRORS, Lifespans, RealmOut

router = Router(tags=["realms"])


@router.get("", response={200: list[RealmOut], **ERRORS}, summary="Realms with counts")
def realms_list(request: HttpRequest) -> list[RealmOut]:
    caller = caller_of(request)
    if not caller.rights.any_right():
        raise PermissionError("Your Keycloak roles grant no admin right on any realm.")
    rows = realms_overview_select(gateway=caller.gateway(), rights=caller.rights)
    return [
        RealmOut(
            name=row.realm.name,
            display_name=row.realm.display_name,
            enabled=row.realm.enabled,
            active_client_sessions=row.active_client_sessions,
            offline_client_sessions=row.offline_client_sessions,
            clients_with_sessions=row.clients_with_sessions,
            my_rights=list(row.my_rights),
            lifespans=Lifespans(**vars(row.realm.lifespans)) if row.realm.lifespans else None,
        )
        for row in rows
    ]
