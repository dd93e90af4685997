"""Report pages: list, create, edit, one report with its runs, send now, preview, delete."""

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.core.csv import csv_chunks, csv_lines
from tokenadmin.core.queue import task_enqueue
from tokenadmin.http import AuthedRequest, forbidden, page_or_partial, render_poll
from tokenadmin.sessionindex.models import SavedView

from .access import report_realm_choices_select, report_visible, reports_visible
from .emails import expiry_report_html
from .forms import ReportForm
from .models import ExpiryReport, ReportRun
from .schedule import schedule_describe
from .services import (
    expiry_report_create,
    expiry_report_csv_rows,
    expiry_report_delete,
    expiry_report_preview,
    expiry_report_update,
    report_run_request,
)
from .tasks import expiry_report_send_task

RUNS_SHOWN = 50
# The email preview is a document of its own: its inline CSS may apply, nothing else may.
EMAIL_FRAME_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
NO_RIGHTS = "Your Keycloak roles do not include view-users on any realm."
NOT_YOURS = "This report covers a realm whose users you may not view."
SENDING_NOW = "Sending now; the run appears below."
QUEUE_UNREACHABLE = (
    "The run is recorded, but the task queue is unreachable right now: it will be sent by "
    "itself once the queue is back."
)


def demo_urls_on() -> bool:
    """The demo's pages (its mailbox) exist only in the demo's URLconf."""
    try:
        reverse("demo:mailbox")
    except NoReverseMatch:
        return False
    return True


def _saved_views(request: AuthedRequest, realms: list[str]) -> QuerySet[SavedView]:
    return SavedView.objects.filter(realm__in=realms, shared=True) | SavedView.objects.filter(
        realm__in=realms, owner=request.user
    )


def _visible_report(
    view: Callable[[AuthedRequest, ExpiryReport], HttpResponseBase],
) -> Callable[[AuthedRequest, int], HttpResponseBase]:
    """The view gets the report of the URL's pk: 404 when there is none, 403 when it covers a
    realm whose users the admin may not view."""

    @functools.wraps(view)
    def with_report(request: AuthedRequest, pk: int) -> HttpResponseBase:
        report = get_object_or_404(
            ExpiryReport.objects.select_related("saved_view", "periodic_task"), pk=pk
        )
        if not report_visible(report, rights_of(request.session)):
            return forbidden(request, NOT_YOURS)
        return view(request, report)

    return with_report


@require_GET
def reports_page(request: AuthedRequest) -> HttpResponse:
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, NO_RIGHTS)
    reports = reports_visible(
        ExpiryReport.objects.select_related(
            "saved_view", "periodic_task__interval", "periodic_task__crontab"
        ),
        rights,
    )
    latest = (
        ExpiryReport.objects.filter(pk__in=[r.pk for r in reports])
        .annotate(last_run_id=Max("runs__id"))
        .values_list("last_run_id", flat=True)
    )
    last_runs = {run.report_id: run for run in ReportRun.objects.filter(pk__in=latest)}
    rows = [
        {
            "report": report,
            "schedule": schedule_describe(report.periodic_task),
            "last_run": last_runs.get(report.pk),
        }
        for report in reports
    ]
    mailbox_on = demo_urls_on()
    return render(request, "reports/reports.html", {"rows": rows, "mailbox_on": mailbox_on})


def _form_page(request: AuthedRequest, report: ExpiryReport | None) -> HttpResponse:
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, NO_RIGHTS)
    realms = report_realm_choices_select(gateway=gateway_for(request), rights=rights)

    def form_of(data: Any = None, **extra: Any) -> ReportForm:
        return ReportForm(
            data,
            realm_choices=realms,
            saved_views=_saved_views(request, realms),
            report=report,
            **extra,
        )

    if request.method == "POST":
        form = form_of(request.POST)
        if form.is_valid():
            if report is None:
                report = expiry_report_create(actor=request.user, definition=form.definition())
                messages.success(request, f"Report “{report.name}” created.")
            else:
                report = expiry_report_update(
                    actor=request.user, report=report, definition=form.definition()
                )
                messages.success(request, f"Report “{report.name}” saved.")
            return redirect("reports:detail", pk=report.pk)
    else:
        form = form_of(initial=ReportForm.initial_for(report))
    return render(request, "reports/report_form.html", {"form": form, "report": report})


def report_create_page(request: AuthedRequest) -> HttpResponse:
    return _form_page(request, None)


@_visible_report
def report_edit_page(request: AuthedRequest, report: ExpiryReport) -> HttpResponse:
    return _form_page(request, report)


@never_cache
@require_GET
@_visible_report
def report_page(request: AuthedRequest, report: ExpiryReport) -> HttpResponse:
    runs = list(report.runs.select_related("requested_by")[:RUNS_SHOWN])
    busy = any(run.state in (ReportRun.State.PENDING, ReportRun.State.SENDING) for run in runs)
    template = page_or_partial(request, "reports/report.html", "report-runs")
    context = {
        "report": report,
        "runs": runs,
        "busy": busy,
        "schedule": schedule_describe(report.periodic_task),
    }
    # The last poll swaps the final states in and tells htmx to stop asking.
    return render_poll(request, template, context, done=bool(request.htmx) and not busy)


@require_POST
@_visible_report
def report_send_now(request: AuthedRequest, report: ExpiryReport) -> HttpResponse:
    run = report_run_request(report=report, actor=request.user)

    def enqueue() -> None:
        if task_enqueue(expiry_report_send_task, run.pk):
            messages.info(request, SENDING_NOW)
        else:
            messages.warning(request, QUEUE_UNREACHABLE)

    transaction.on_commit(enqueue)
    return redirect("reports:detail", pk=report.pk)


@require_POST
@_visible_report
def report_delete(request: AuthedRequest, report: ExpiryReport) -> HttpResponse:
    name = report.name
    expiry_report_delete(actor=request.user, report=report)
    messages.success(request, f"Report “{name}” deleted.")
    return redirect("reports:index")


@never_cache
@require_GET
@_visible_report
def report_preview_page(request: AuthedRequest, report: ExpiryReport) -> HttpResponse:
    content = expiry_report_preview(report=report, now=timezone.now())
    return render(request, "reports/preview.html", {"report": report, "content": content})


@never_cache
@require_GET
@_visible_report
def report_csv(request: AuthedRequest, report: ExpiryReport) -> HttpResponseBase:
    """The report's full CSV as the index holds it now, streamed (the mail links here)."""
    now = timezone.now()
    rows = expiry_report_csv_rows(report=report, now=now)
    response = StreamingHttpResponse(csv_chunks(csv_lines(rows)), content_type="text/csv")
    name = f"expiry-report-{report.pk}-{now:%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@never_cache
@require_GET
@xframe_options_sameorigin
@_visible_report
def report_preview_email(request: AuthedRequest, report: ExpiryReport) -> HttpResponse:
    """The HTML email itself, for the preview page's sandboxed frame."""
    response = HttpResponse(expiry_report_html(expiry_report_preview(report=report)))
    response["Content-Security-Policy"] = EMAIL_FRAME_CSP
    return response
