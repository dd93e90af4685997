"""The report email: subject, plain text and HTML from the template triple; a summary and the
first rows of each section, a link to the full CSV on the dashboard, and the CSV itself
gzipped when it stays under REPORT_ATTACHMENT_MAX_BYTES."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from tokenadmin.core.csv import csv_gzip_within

from .selectors import ReportContent

SUBJECT = "emails/expiry-report-subject.txt"
BODY_TEXT = "emails/expiry-report-body.txt"
BODY_HTML = "emails/expiry-report-body.html"
# Which report a mail is and which realms it read: the demo mailbox shows a mail only to whom
# may see those realms' users (tokenadmin/demo/mailbox.py).
REPORT_HEADER = "X-Tokenadmin-Report"
REALMS_HEADER = "X-Tokenadmin-Realms"
# No CSV row gzips smaller than this (bytes): a report with more rows than the limit can hold
# at that size is not even tried (at a million sessions that would cost seconds for nothing).
MIN_GZIP_ROW_BYTES = 20


def csv_attachment(content: ReportContent) -> bytes | None:
    """The full CSV gzipped, or None when it would not fit under the configured size."""
    limit = settings.REPORT_ATTACHMENT_MAX_BYTES
    if limit <= 0 or content.csv_row_count() * MIN_GZIP_ROW_BYTES > limit:
        return None
    return csv_gzip_within(content.csv_rows(), limit_bytes=limit)


def email_context(content: ReportContent, *, attached: bool = False) -> dict:
    report = content.report
    return {
        "attached": attached,
        "csv_url": settings.TOKENADMIN_BASE_URL + reverse("reports:csv", args=[report.pk]),
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
    attachment = csv_attachment(content)
    context = email_context(content, attached=attachment is not None)
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
    if attachment is not None:
        message.attach(f"{csv_filename(content)}.gz", attachment, "application/gzip")
    return message
