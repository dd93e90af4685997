from django.http import HttpRequest

from tokenadmin.keycloak.breaker import keycloak_outage_get

from .session_tokens import SID, rights_of


def admin_rights(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"rights": rights_of(request.session), "my_session_id": request.session.get(SID, "")}


def keycloak_outage(request: HttpRequest) -> dict:
    """The circuit breaker's outage, for the banner in base.html (signed-in pages only)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"keycloak_outage": keycloak_outage_get()}
