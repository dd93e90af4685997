"""Expiry reports: what to look for, whom to tell, when; and every run of them.

A report's schedule lives in django-celery-beat (one PeriodicTask per report, pointing at
`expiry_report_scheduled_task` with the report id), so beat's DatabaseScheduler picks up edits
without a restart.
"""

from django.conf import settings
from django.db import models

from .schedule import schedule_describe


class ExpiryReport(models.Model):
    name = models.CharField(max_length=120, unique=True)
    # Realm names the report reads; with a saved view, that view's realm. Never empty: who may
    # see a report is decided by them (reports/access.py).
    realms = models.JSONField(default=list, blank=True)
    # clientIds to limit the report to; empty = every client.
    client_ids = models.JSONField(default=list, blank=True)
    saved_view = models.ForeignKey(
        "sessionindex.SavedView", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Each section is on when its threshold is set (None = leave it out).
    offline_within_days = models.PositiveIntegerField(null=True, blank=True)
    sso_max_within_hours = models.PositiveIntegerField(null=True, blank=True)
    idle_over_hours = models.PositiveIntegerField(null=True, blank=True)
    sessions_per_user_over = models.PositiveIntegerField(null=True, blank=True)
    include_lifespan_changes = models.BooleanField(default=True)
    recipients = models.JSONField(default=list)
    send_when_empty = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="expiry_report",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def report_realms(self) -> list[str]:
        """The realms this report reads: the saved view's, else the chosen ones (the saved view's
        realm too, stored with it)."""
        if self.saved_view_id and self.saved_view:
            return [self.saved_view.realm]
        return list(self.realms)

    def as_dict(self) -> dict:
        """The definition as the ledger records it (before/after)."""
        return {
            "name": self.name,
            "realms": list(self.realms),
            "client_ids": list(self.client_ids),
            "saved_view": self.saved_view.name if self.saved_view_id and self.saved_view else None,
            "offline_within_days": self.offline_within_days,
            "sso_max_within_hours": self.sso_max_within_hours,
            "idle_over_hours": self.idle_over_hours,
            "sessions_per_user_over": self.sessions_per_user_over,
            "include_lifespan_changes": self.include_lifespan_changes,
            "recipients": list(self.recipients),
            "send_when_empty": self.send_when_empty,
            "enabled": self.enabled,
            "schedule": schedule_describe(self.periodic_task),
        }


# What each key of ReportRun.counts means (the keys are the report's sections).
COUNT_LABELS = {
    "offline_lapsing": "Offline lapsing",
    "sso_max": "At SSO max",
    "long_idle": "Long idle",
    "many_sessions": "Users with many sessions",
    "lifespan_changes": "Lifespan changes",
}


class ReportRun(models.Model):
    """One schedule slot of one report (or one "send now"). Unique per (report, slot), so a
    duplicate beat tick or a redelivered task finds the row that exists and sends nothing.

    Delivery (docs/FAULTS.md, "SMTP"): PENDING → SENDING (claimed, under a lease) → SENT. A
    failure before the message content went out puts it back to PENDING with its next attempt
    due (exactly once). When the content went out and the server never confirmed (a timeout,
    a reset, the worker killed), the run is POSSIBLY_DELIVERED: sent once more after a long
    pause, never more, and the history says so (at most twice, marked).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED_EMPTY = "skipped_empty", "Nothing to report (not sent)"
        FAILED = "failed", "Failed"
        POSSIBLY_DELIVERED = "possibly_delivered", "Possibly delivered"

    report = models.ForeignKey(ExpiryReport, on_delete=models.CASCADE, related_name="runs")
    # The beat tick this run answers, truncated to the schedule's period; "send now" uses the
    # moment of the click.
    slot = models.DateTimeField()
    manual = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=24, choices=State.choices, default=State.PENDING)
    counts = models.JSONField(default=dict, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # When a PENDING run's retry, or a POSSIBLY_DELIVERED run's one resend, is due.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A SENDING run belongs to its sender until then; after it, the sender is presumed dead.
    lease_until = models.DateTimeField(null=True, blank=True)
    # When this attempt handed the message content to the server (None: not yet).
    content_sent_at = models.DateTimeField(null=True, blank=True)
    # Attempts that may have delivered the mail (confirmed or not): the copies recipients
    # may hold. Never more than 2.
    copies_possible = models.PositiveSmallIntegerField(default=0)
    # What the history says about delivery ("may have been delivered; sent once more at ...").
    delivery_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-slot", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "slot"], name="unique_run_per_report_slot")
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="idx_run_state")]

    def __str__(self) -> str:
        return f"{self.report_id} @ {self.slot:%Y-%m-%d %H:%M:%S}: {self.state}"

    @property
    def found(self) -> list[tuple[str, int | None]]:
        """The counts with their labels, for the history table."""
        return [(COUNT_LABELS.get(key, key), n) for key, n in self.counts.items()]

    @property
    def retrying(self) -> bool:
        """Failed for now, another attempt is coming."""
        return self.state == self.State.PENDING and self.attempts > 0
