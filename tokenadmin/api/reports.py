"""Expiry reports over the API: list, run now, runs (the reports pages' rules and services)."""

from datetime import datetime

from django.db import transaction
from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status

from tokenadmin.core.queue import task_enqueue
from tokenadmin.reports.access import report_visible, reports_visible
from tokenadmin.reports.models import ExpiryReport, ReportRun
from tokenadmin.reports.schedule import schedule_describe
from tokenadmin.reports.services import report_run_request
from tokenadmin.reports.tasks import expiry_report_send_task

from .auth import Caller, caller_of
from .schemas import ERRORS

router = Router(tags=["reports"])
RUNS_SHOWN = 50


class ReportOut(Schema):
    id: int
    name: str
    realms: list[str]
    enabled: bool
    schedule: str | None


class RunOut(Schema):
    id: int
    state: str
    manual: bool
    created_at: datetime
    finished_at: datetime | None
    counts: dict
    error: str


def _report(caller: Caller, report_id: int) -> ExpiryReport:
    report = ExpiryReport.objects.select_related("periodic_task").filter(pk=report_id).first()
    if report is None:
        raise Http404(f"No report {report_id}.")
    if not report_visible(report, caller.rights):
        raise PermissionError("This report reads realms whose users your roles do not let you see.")
    return report


def _report_out(report: ExpiryReport) -> ReportOut:
    return ReportOut(
        id=report.pk,
        name=report.name,
        realms=report.report_realms,
        enabled=report.enabled,
        schedule=schedule_describe(report.periodic_task),
    )


def _run_out(run: ReportRun) -> RunOut:
    return RunOut(
        id=run.pk,
        state=run.state,
        manual=run.manual,
        created_at=run.created_at,
        finished_at=run.finished_at,
        counts=run.counts,
        error=run.error,
    )


@router.get("", response={200: list[ReportOut], **ERRORS}, summary="Reports the caller may read")
def reports_list(request: HttpRequest) -> list[ReportOut]:
    caller = caller_of(request)
    if not caller.rights.any_right():
        raise PermissionError("Your Keycloak roles grant no admin right on any realm.")
    reports = ExpiryReport.objects.select_related("periodic_task").order_by("name")
    return [_report_out(r) for r in reports_visible(reports, caller.rights)]


@router.post(
    "/{report_id}/runs",
    response={202: RunOut, **ERRORS},
    summary="Run a report now (a worker sends it)",
)
def report_run(request: HttpRequest, report_id: int) -> Status:
    caller = caller_of(request)
    run = report_run_request(report=_report(caller, report_id), actor=caller.user)
    # With the queue unreachable the run stays pending; the sweeper queues it (docs/FAULTS.md).
    transaction.on_commit(lambda: task_enqueue(expiry_report_send_task, run.pk))
    return Status(202, _run_out(run))


@router.get("/{report_id}/runs", response={200: list[RunOut], **ERRORS})
def report_runs(request: HttpRequest, report_id: int) -> list[RunOut]:
    report = _report(caller_of(request), report_id)
    return [_run_out(run) for run in report.runs.order_by("-pk")[:RUNS_SHOWN]]
