"""Writes: report definitions (with their beat schedule and a ledger entry), and runs.

A run is claimed before it sends (`PENDING → SENDING` in one UPDATE), so however many tasks
point at it (a duplicate beat tick, a redelivered message, a retry) only one sends it.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.keycloak import GatewayError, gateway_for_worker
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import ledger_entry_create
from tokenadmin.sessionindex.models import SavedView

from .emails import expiry_report_message
from .models import ExpiryReport, ReportRun
from .schedule import Schedule, periodic_task_sync, slot_of
from .selectors import ReportContent, expiry_report_build

log = logging.getLogger(__name__)

# Failures worth another attempt later: the mail server down, refusing for now, or slow.
RETRYABLE = (smtplib.SMTPException, OSError)
ERROR_MAX_CHARS = 2000


@dataclass(frozen=True)
class ReportDefinition:
    """What the report form edits."""

    name: str
    realms: list[str]
    client_ids: list[str]
    saved_view: SavedView | None
    offline_within_days: int | None
    sso_max_within_hours: int | None
    idle_over_hours: int | None
    sessions_per_user_over: int | None
    include_lifespan_changes: bool
    recipients: list[str]
    send_when_empty: bool
    enabled: bool
    schedule: Schedule


def _apply(report: ExpiryReport, definition: ReportDefinition) -> None:
    for name in (
        "name",
        "realms",
        "client_ids",
        "saved_view",
        "offline_within_days",
        "sso_max_within_hours",
        "idle_over_hours",
        "sessions_per_user_over",
        "include_lifespan_changes",
        "recipients",
        "send_when_empty",
        "enabled",
    ):
        setattr(report, name, getattr(definition, name))
    if definition.saved_view is not None:
        # Bound to the view's realm, so the report stays bound to it whatever becomes of the view.
        report.realms = [definition.saved_view.realm]


def _ledger_realm(report: ExpiryReport) -> str:
    return ",".join(report.report_realms)[:255]


def _report_change_record(
    *, actor: User | None, report: ExpiryReport, detail: str, before: Any = None, after: Any = None
) -> None:
    ledger_entry_create(
        actor=actor,
        action=Action.REPORT_CHANGED,
        realm=_ledger_realm(report),
        target_type="report",
        target_id=str(report.pk),
        target_label=report.name,
        before=before,
        after=after,
        detail=detail,
    )


def _save_with_schedule(report: ExpiryReport, definition: ReportDefinition) -> None:
    """Save the definition, then create or update the beat entry that sends the report."""
    _apply(report, definition)
    report.save()
    report.periodic_task = periodic_task_sync(
        task=report.periodic_task,
        report_id=report.pk,
        name=report.name,
        schedule=definition.schedule,
        enabled=report.enabled,
    )
    report.save(update_fields=["periodic_task"])


@transaction.atomic
def expiry_report_create(*, actor: User | None, definition: ReportDefinition) -> ExpiryReport:
    report = ExpiryReport(created_by=actor)
    _save_with_schedule(report, definition)
    _report_change_record(actor=actor, report=report, after=report.as_dict(), detail="created")
    return report


@transaction.atomic
def expiry_report_update(
    *, actor: User | None, report: ExpiryReport, definition: ReportDefinition
) -> ExpiryReport:
    before = report.as_dict()
    _save_with_schedule(report, definition)
    _report_change_record(
        actor=actor, report=report, before=before, after=report.as_dict(), detail="updated"
    )
    return report


@transaction.atomic
def expiry_report_delete(*, actor: User | None, report: ExpiryReport) -> None:
    _report_change_record(actor=actor, report=report, before=report.as_dict(), detail="deleted")
    if report.periodic_task:
        report.periodic_task.delete()
    report.delete()


def realms_sso_max_select(realms: list[str]) -> dict[str, int]:
    """Each realm's SSO session max as Keycloak has it now; realms it cannot tell are left out
    (the report then assumes Keycloak's default), so an outage never blocks a report."""
    try:
        gateway = gateway_for_worker()
    except GatewayError:
        log.warning("expiry report: Keycloak unavailable, assuming default SSO max")
        return {}
    found: dict[str, int] = {}
    for realm in realms:
        try:
            lifespans = gateway.realm_get(realm).lifespans
        except GatewayError:
            continue
        if lifespans is not None:
            found[realm] = lifespans.sso_max_s
    return found


def expiry_report_preview(*, report: ExpiryReport, now: datetime | None = None) -> ReportContent:
    """What the report would say now; sends nothing, records nothing."""
    return expiry_report_build(
        report=report,
        now=now or timezone.now(),
        sso_max_s=realms_sso_max_select(report.report_realms),
    )


def report_run_for_tick(*, report_id: int, tick_at: datetime) -> ReportRun | None:
    """The run for the schedule slot `tick_at` falls in, created once; None when the report is
    gone or switched off."""
    report = (
        ExpiryReport.objects.select_related("periodic_task__interval", "periodic_task__crontab")
        .filter(pk=report_id, enabled=True)
        .first()
    )
    if report is None:
        return None
    slot = slot_of(tick_at=tick_at, schedule=Schedule.of(report.periodic_task))
    run, _created = ReportRun.objects.get_or_create(report=report, slot=slot)
    return run


def report_run_request(*, report: ExpiryReport, actor: User | None) -> ReportRun:
    """ "Send now": a run of its own, outside the schedule's slots."""
    return ReportRun.objects.create(
        report=report, slot=timezone.now(), manual=True, requested_by=actor
    )


# A send takes seconds; a run SENDING for this long lost its worker (killed mid-send).
STRANDED_AFTER = timedelta(minutes=10)
STRANDED_ERROR = "The worker stopped while sending; sent again by the next worker."


def report_runs_stranded_release(*, now: datetime | None = None) -> list[int]:
    """Put runs whose worker died mid-send back to PENDING; returns their ids to send again.

    A worker killed between the SMTP server accepting the mail and the run being marked SENT
    would make this a second mail; the window is milliseconds, where losing the slot's report
    for good is the alternative.
    """
    cutoff = (now or timezone.now()) - STRANDED_AFTER
    stranded = ReportRun.objects.filter(state=ReportRun.State.SENDING, started_at__lt=cutoff)
    ids = list(stranded.values_list("pk", flat=True))
    ReportRun.objects.filter(pk__in=ids, state=ReportRun.State.SENDING).update(
        state=ReportRun.State.PENDING, error=STRANDED_ERROR
    )
    return ids


def report_run_send(*, run_id: int, final_attempt: bool = False) -> str | None:
    """Build and send one run, once. Returns the state it ended in, or None when another
    worker holds (or already finished) the run.

    On a retryable failure the run goes back to PENDING (with the error and the attempt count,
    so the history shows "failed, retrying") and the error is re-raised for the task to retry;
    on the last attempt, or any other error, it ends FAILED.
    """
    claimed = ReportRun.objects.filter(pk=run_id, state=ReportRun.State.PENDING).update(
        state=ReportRun.State.SENDING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    run = ReportRun.objects.select_related("report", "report__saved_view").get(pk=run_id)
    report = run.report
    try:
        content = expiry_report_build(
            report=report, now=timezone.now(), sso_max_s=realms_sso_max_select(report.report_realms)
        )
        run.counts = content.counts()
        run.recipients = list(report.recipients)
        if content.is_empty and not report.send_when_empty:
            run.state = ReportRun.State.SKIPPED_EMPTY
        else:
            expiry_report_message(content=content, recipients=run.recipients).send()
            run.state = ReportRun.State.SENT
    except Exception as exc:
        retry = isinstance(exc, RETRYABLE) and not final_attempt
        ReportRun.objects.filter(pk=run_id, state=ReportRun.State.SENDING).update(
            state=ReportRun.State.PENDING if retry else ReportRun.State.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS],
            counts=run.counts,
            recipients=run.recipients,
            finished_at=None if retry else timezone.now(),
        )
        raise
    run.error = ""
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "counts", "recipients", "error", "finished_at"])
    return run.state
