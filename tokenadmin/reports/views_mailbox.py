"""The demo mailbox: only when settings.TOKENADMIN_DEMO_MAILDIR names the sink's folder."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from tokenadmin.http import AuthedRequest

from .mailbox import mail_get, mailbox_dir, mailbox_select
from .views import EMAIL_FRAME_CSP


def mailbox_page(request: AuthedRequest) -> HttpResponse:
    mailbox_dir()  # 404 outside the demo
    return render(request, "reports/mailbox.html", {"mails": mailbox_select()})


def mail_page(request: AuthedRequest, name: str) -> HttpResponse:
    mail = mail_get(name=name)
    return render(
        request,
        "reports/mail.html",
        {
            "mail": mail,
            "name": name,
            "text": mail.body("plain"),
            "has_html": bool(mail.body("html")),
            "attachments": [(filename, len(data)) for filename, data in mail.attachments()],
        },
    )


@xframe_options_sameorigin
def mail_html(request: AuthedRequest, name: str) -> HttpResponse:
    response = HttpResponse(mail_get(name=name).body("html"))
    response["Content-Security-Policy"] = EMAIL_FRAME_CSP
    return response
