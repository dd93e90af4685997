"""The report email: subject, plain text and HTML from the template triple, CSV attached."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .selectors import ReportContent

SUBJECT = "emails/expiry-report-subject.txt"
BODY_TEXT = "emails/expiry-report-body.txt"
BODY_HTML = "emails/expiry-report-body.html"
# Which report a mail is and which realms it read: the demo mailbox shows a mail only to whom
# may see those realms' users (tokenadmin/demo/mailbox.py).
REPORT_HEADER = "X-Tokenadmin-Report"
REALMS_HEADER = "X-Tokenadmin-Realms"


def email_context(content: ReportContent) -> dict:
    report = content.report
    return {
        "content": content,
        "report": report,
        "sections": content.sections,
        "counts": content.counts(),
        "report_url": settings.TOKENADMIN_BASE_URL + reverse("reports:detail", args=[report.pk]),
        "base_url": settings.TOKENADMIN_BASE_URL,
    }


def expiry_report_subject(content: ReportContent) -> str:
    text = render_to_string(SUBJECT, email_context(content))
    return " ".join(text.split())  # one line: a newline in a header is an injection


def expiry_report_html(content: ReportContent) -> str:
    return render_to_string(BODY_HTML, email_context(content))


def csv_filename(content: ReportContent) -> str:
    return f"expiry-report-{content.report.pk}-{content.now:%Y%m%d-%H%M}.csv"


def expiry_report_message(
    *, content: ReportContent, recipients: list[str]
) -> EmailMultiAlternatives:
    context = email_context(content)
    message = EmailMultiAlternatives(
        subject=expiry_report_subject(content),
        body=render_to_string(BODY_TEXT, context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={
            REPORT_HEADER: str(content.report.pk),
            REALMS_HEADER: ",".join(content.report.report_realms),
        },
    )
    message.attach_alternative(render_to_string(BODY_HTML, context), "text/html")
    message.attach(csv_filename(content), content.csv_text(), "text/csv")
    return message
