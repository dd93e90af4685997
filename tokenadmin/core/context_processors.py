from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# The sections of tokenadmin, in the order admins work through them.
NAV = (
    ("Realms", "realms:list"),
    ("Sessions", "sessions:index"),
    ("Revocations", "revocation:index"),
    ("Lifespans", "lifespans:index"),
    ("Reports", "reports:index"),
    ("Findings", "findings:index"),
    ("Alerts", "alerts:index"),
    ("Policies", "policies:index"),
    ("Ledger", "ledger:index"),
)


def navigation(request: HttpRequest) -> dict:
    items = []
    for label, name in NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            url = None  # a section this version does not have yet
        active = url is not None and (
            request.path.startswith(url) if url != "/" else request.path == "/"
        )
        items.append({"label": label, "url": url, "active": active})
    return {"nav_items": items}
