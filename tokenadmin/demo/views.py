"""The demo mailbox: the mails the demo's SMTP sink received, each shown only to the admins who
may read the report it carries (the report's own rule: view-users on each of its realms)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from tokenadmin.accounts.rights import AdminRights
from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.http import AuthedRequest, forbidden
from tokenadmin.reports.views import EMAIL_FRAME_CSP

from .mailbox import mail_get, mailbox_select

NO_RIGHTS = "Your Keycloak roles do not include view-users on any realm."


@never_cache
@require_GET
def mailbox_page(request: AuthedRequest) -> HttpResponse:
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, NO_RIGHTS)
    return render(request, "demo/mailbox.html", {"mails": mailbox_select(rights=rights)})


def _rights(request: AuthedRequest) -> AdminRights:
    rights = rights_of(request.session)
    if not rights.any_right():
        raise PermissionDenied(NO_RIGHTS)
    return rights


@never_cache
@require_GET
def mail_page(request: AuthedRequest, name: str) -> HttpResponse:
    mail = mail_get(name=name, rights=_rights(request))
    return render(
        request,
        "demo/mail.html",
        {
            "mail": mail,
            "name": name,
            "text": mail.body("plain"),
            "has_html": bool(mail.body("html")),
            "attachments": [
                (number, filename, len(data))
                for number, (filename, data) in enumerate(mail.attachments())
            ],
        },
    )


@never_cache
@require_GET
@xframe_options_sameorigin
def mail_html(request: AuthedRequest, name: str) -> HttpResponse:
    response = HttpResponse(mail_get(name=name, rights=_rights(request)).body("html"))
    response["Content-Security-Policy"] = EMAIL_FRAME_CSP
    return response


@never_cache
@require_GET
def mail_attachment(request: AuthedRequest, name: str, number: int) -> HttpResponse:
    """One attachment of a mail (a report's CSV), downloaded as the recipient would open it."""
    attachments = mail_get(name=name, rights=_rights(request)).attachments()
    if number >= len(attachments):
        raise Http404("No such attachment")
    filename, data = attachments[number]
    filename = filename or f"attachment-{number + 1}"
    content_type = (
        "text/csv; charset=utf-8" if filename.endswith(".csv") else "application/octet-stream"
    )
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response
