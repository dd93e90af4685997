"""Writes: report definitions (with their beat schedule and a ledger entry), and runs.

A run is claimed before it sends (`PENDING → SENDING` in one UPDATE), so however many tasks
point at it (a duplicate beat tick, a redelivered message, a retry) only one sends it.
"""

import logging
import smtplib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.core.sqlite import unmapped_reads
from tokenadmin.keycloak import GatewayError, gateway_for_worker
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import ledger_entry_create
from tokenadmin.sessionindex.models import SavedView

from .delivery import DeliveryUncertain, message_deliver
from .emails import expiry_report_message
from .models import ExpiryReport, ReportRun
from .schedule import Schedule, periodic_task_sync, slot_of
from .selectors import (
    ReportContent,
    csv_rows_of,
    expiry_report_build,
    report_querysets,
)

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


def expiry_report_csv_rows(*, report: ExpiryReport, now: datetime) -> Iterator[list[str]]:
    """Every row the report finds at `now`, as its CSV (header first), read lazily: the
    dashboard's download of what the mail summarises."""
    querysets = report_querysets(
        report=report, now=now, sso_max_s=realms_sso_max_select(report.report_realms)
    )
    return csv_rows_of(querysets)


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


# Failures worth another attempt later: the mail server down, refusing for now, or slow
# before the message content went out (RETRYABLE above). Attempts are 1, 2, 4 ... 512,
# 600 s apart, eleven in all.
MAX_ATTEMPTS = 11
RETRY_DELAY_MAX_S = 600
STRANDED_ERROR = "The worker stopped before the message went out; sent again by the next worker."
RESEND_FAILED = "An earlier attempt may have been delivered; sending it once more failed."
UNCONFIRMED_KILLED = "The worker stopped after handing the message to the mail server."


class RunTakenOver(Exception):
    """This sender's claim ran out and another attempt owns the run now: send nothing."""


def retry_delay_s(attempts: int) -> int:
    return min(2 ** max(attempts - 1, 0), RETRY_DELAY_MAX_S)


def _lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.REPORT_SEND_LEASE_S)


def _unconfirmed_note(*, why: str, copies: int, resend_at: datetime | None) -> str:
    if resend_at is not None:
        return (
            f"{why} It may have been delivered. It will be sent once more at "
            f"{resend_at:%Y-%m-%d %H:%M} UTC, so recipients may get it twice."
        )
    if copies >= 2:
        return f"{why} It may have been delivered, as may the attempt before: not sent again."
    return f"{why} It may have been delivered: not sent again."


def _possibly_delivered(*, run: ReportRun, why: str, error: str = "") -> bool:
    """Record an attempt whose content went out unconfirmed; True if this call recorded it.

    The first such attempt gets one resend after REPORT_UNCONFIRMED_RESEND_AFTER_S; the second
    (copies_possible 2) is final. Recipients never get more than two copies.
    """
    now = timezone.now()
    copies = run.copies_possible + 1
    resend_at = None
    if copies < 2:
        resend_at = now + timedelta(seconds=settings.REPORT_UNCONFIRMED_RESEND_AFTER_S)
    return bool(
        ReportRun.objects.filter(
            pk=run.pk, attempts=run.attempts, state=ReportRun.State.SENDING
        ).update(
            state=ReportRun.State.POSSIBLY_DELIVERED,
            copies_possible=copies,
            next_attempt_at=resend_at,
            lease_until=None,
            finished_at=now,
            error=error[:ERROR_MAX_CHARS],
            delivery_note=_unconfirmed_note(why=why, copies=copies, resend_at=resend_at),
        )
    )


def report_runs_stranded_release(*, now: datetime | None = None) -> list[int]:
    """Settle the runs whose sender died (SENDING past its lease); returns the ids to send again.

    Before the content went out nothing was delivered: the run goes back to PENDING and is
    sent once. After it, the server may have the mail: the run is POSSIBLY_DELIVERED.
    """
    now = now or timezone.now()
    lease_over = Q(lease_until__lt=now) | Q(
        lease_until__isnull=True,
        started_at__lt=now - timedelta(seconds=settings.REPORT_SEND_LEASE_S),
    )
    again = []
    for run in ReportRun.objects.filter(lease_over, state=ReportRun.State.SENDING):
        if run.content_sent_at is not None:
            _possibly_delivered(run=run, why=UNCONFIRMED_KILLED)
            continue
        released = ReportRun.objects.filter(
            pk=run.pk, attempts=run.attempts, state=ReportRun.State.SENDING
        ).update(
            state=ReportRun.State.PENDING,
            error=STRANDED_ERROR,
            next_attempt_at=now,
            lease_until=None,
        )
        if released:
            again.append(run.pk)
    return again


def report_runs_due(*, now: datetime | None = None, overdue_s: float = 0) -> list[int]:
    """Runs to queue: PENDING ones due more than `overdue_s` ago (their task lost with Redis
    or a killed worker), and POSSIBLY_DELIVERED ones whose one resend is due."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=overdue_s)
    overdue = Q(next_attempt_at__lte=cutoff) | Q(
        next_attempt_at__isnull=True, created_at__lte=cutoff
    )
    pending = Q(state=ReportRun.State.PENDING) & overdue
    resend = Q(
        state=ReportRun.State.POSSIBLY_DELIVERED, copies_possible=1, next_attempt_at__lte=now
    )
    return list(ReportRun.objects.filter(pending | resend).values_list("pk", flat=True))


def _claim(run_id: int, now: datetime) -> int:
    """PENDING → SENDING, or a POSSIBLY_DELIVERED run whose one resend is due; returns the
    attempt number that owns the run, 0 when someone else has it or it needs nothing."""
    claimable = Q(state=ReportRun.State.PENDING) | Q(
        state=ReportRun.State.POSSIBLY_DELIVERED, copies_possible=1, next_attempt_at__lte=now
    )
    with transaction.atomic():
        claimed = ReportRun.objects.filter(claimable, pk=run_id).update(
            state=ReportRun.State.SENDING,
            started_at=now,
            attempts=F("attempts") + 1,
            lease_until=_lease_until(now),
            content_sent_at=None,
            next_attempt_at=None,
        )
        if not claimed:
            return 0
        return ReportRun.objects.values_list("attempts", flat=True).get(pk=run_id)


def _content_guard(mine: QuerySet[ReportRun], run_id: int, attempt: int) -> Callable[[], None]:
    """Called right before the content goes out: the attempt must still own the run."""

    def before_content() -> None:
        now = timezone.now()
        still_mine = mine.filter(state=ReportRun.State.SENDING).update(
            content_sent_at=now, lease_until=_lease_until(now)
        )
        if not still_mine:
            raise RunTakenOver(f"report run {run_id}: attempt {attempt} lost its claim")

    return before_content


def _build_and_deliver(run: ReportRun, before_content: Callable[[], None]) -> None:
    """Build the report into `run` (counts, recipients) and send it unless it is empty;
    `run.state` says which happened."""
    report = run.report
    sso_max_s = realms_sso_max_select(report.report_realms)
    message = None
    with unmapped_reads():
        content = expiry_report_build(report=report, now=timezone.now(), sso_max_s=sso_max_s)
        run.counts = content.counts()
        run.recipients = list(report.recipients)
        if not content.is_empty or report.send_when_empty:
            message = expiry_report_message(content=content, recipients=run.recipients)
    if message is None:
        run.state = ReportRun.State.SKIPPED_EMPTY
    else:
        message_deliver(message=message, before_content=before_content)
        run.state = ReportRun.State.SENT


def _attempt_failed(
    mine: QuerySet[ReportRun], run: ReportRun, exc: Exception, *, attempt: int, final: bool
) -> None:
    """Back to PENDING, next attempt timed, when the error is worth retrying; else FAILED."""
    retry = isinstance(exc, RETRYABLE) and not final and attempt < MAX_ATTEMPTS
    now = timezone.now()
    mine.filter(state=ReportRun.State.SENDING).update(
        state=ReportRun.State.PENDING if retry else ReportRun.State.FAILED,
        error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS],
        counts=run.counts,
        recipients=run.recipients,
        finished_at=None if retry else now,
        next_attempt_at=now + timedelta(seconds=retry_delay_s(attempt)) if retry else None,
        lease_until=None,
        content_sent_at=None,
        delivery_note=run.delivery_note if retry or not run.copies_possible else RESEND_FAILED,
    )


def _attempt_finished(mine: QuerySet[ReportRun], run: ReportRun) -> None:
    """Record the verdict (SENT or SKIPPED_EMPTY), counting copies recipients may hold."""
    now = timezone.now()
    copies = run.copies_possible + (run.state == ReportRun.State.SENT)
    note = run.delivery_note
    if run.state == ReportRun.State.SENT and copies >= 2:
        note = (
            "Sent again after an attempt the mail server never confirmed: recipients may "
            "have it twice."
        )
    # The verdict stands even if a sweeper meanwhile judged this attempt lost.
    mine.filter(state__in=[ReportRun.State.SENDING, ReportRun.State.POSSIBLY_DELIVERED]).update(
        state=run.state,
        counts=run.counts,
        recipients=run.recipients,
        error="",
        finished_at=now,
        lease_until=None,
        copies_possible=copies,
        delivery_note=note,
        next_attempt_at=None,
    )


def report_run_send(*, run_id: int, final_attempt: bool = False) -> str | None:
    """Build and send one run, once. Returns the state it ended in, or None when another
    worker holds (or already finished) the run.

    On a retryable failure before the content went out the run goes back to PENDING (with the
    error, the attempt count and when the next attempt is due, so the history shows "failed,
    retrying") and the error is re-raised for the task to queue that attempt; on the last
    attempt, or any other error, it ends FAILED. When the content went out unconfirmed the run
    ends POSSIBLY_DELIVERED (see _possibly_delivered) and DeliveryUncertain is re-raised.
    """
    attempt = _claim(run_id, timezone.now())
    if not attempt:
        return None
    run = ReportRun.objects.select_related("report", "report__saved_view").get(pk=run_id)
    mine = ReportRun.objects.filter(pk=run_id, attempts=attempt)
    try:
        _build_and_deliver(run, _content_guard(mine, run_id, attempt))
    except RunTakenOver:
        log.warning("report run %s: attempt %s lost its claim; sending nothing", run_id, attempt)
        return None
    except DeliveryUncertain as exc:
        mine.update(counts=run.counts, recipients=run.recipients)
        run.attempts = attempt
        _possibly_delivered(run=run, why=f"{exc}.", error=str(exc))
        raise
    except Exception as exc:
        _attempt_failed(mine, run, exc, attempt=attempt, final=final_attempt)
        raise
    _attempt_finished(mine, run)
    return run.state
