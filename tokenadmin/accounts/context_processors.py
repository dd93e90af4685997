from django.http import HttpRequest

from .session_tokens import SID, rights_of


def admin_rights(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"rights": rights_of(request.session), "my_session_id": request.session.get(SID, "")}
