"""Bulk revocation jobs: one row per job, one row per session it targets.

Items are finished exactly once (`filter(state=PENDING).update(...)`), so a job that a dead
worker left half-way continues where it stopped: nothing skipped, nothing counted twice.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class RevocationJob(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        # It could not record its results (database or disk full...): it sends nothing more
        # until a worker resumes it; `stopped_reason` says why.
        STOPPED = "stopped", "Stopped"
        DONE = "done", "Finished"

    realm = models.CharField(max_length=255, db_index=True)
    # The ledger action the job records when it finishes (a ledger Action value).
    action = models.CharField(max_length=64)
    # What the admin asked for, in words ("Everyone on client mlflow") and as data.
    label = models.CharField(max_length=500)
    recipe = models.JSONField(default=dict)
    # Who started it: the ledger names them, though the job runs as the worker's account.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_username = models.CharField(max_length=255)
    reason = models.TextField()
    ticket = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    total = models.PositiveIntegerField(default=0)
    # Sessions deliberately left alone (the acting admin's own), as [{"session_id", "why"}].
    excluded = models.JSONField(default=list)
    # "Access tokens already issued to mlflow stay valid for up to 5 min", computed at start.
    residual_risk = models.JSONField(default=list)
    # Sessions the job never revokes (the acting admin's own), whatever its list holds.
    spared_session_ids = models.JSONField(default=list)
    # False until the worker has listed every session into the items (targets.py); `total`
    # is the preview's count until then.
    targets_ready = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The run that owns the job now and until when; another run may take over after that.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Why the job stopped (state STOPPED), for the job page; cleared when a run takes it over.
    stopped_reason = models.TextField(blank=True)
    ledger_entry = models.ForeignKey(
        "ledger.LedgerEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"job {self.pk} {self.realm}: {self.label} ({self.state})"

    @property
    def is_done(self) -> bool:
        return self.state == self.State.DONE

    @property
    def is_stalled(self) -> bool:
        """RUNNING, but no run has renewed its lease: its worker died or cannot write (it
        could not even record that it stopped)."""
        return (
            self.state == self.State.RUNNING
            and self.lease_until is not None
            and self.lease_until < timezone.now()
        )


class RevocationItem(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Revoked"
        ALREADY_GONE = "already_gone", "Already gone"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(RevocationJob, on_delete=models.CASCADE, related_name="items")
    session_id = models.CharField(max_length=64)
    offline = models.BooleanField(default=False)
    # A snapshot of the session as it was when the job was created.
    user_id = models.CharField(max_length=64, blank=True)
    username = models.CharField(max_length=255, blank=True)
    ip_address = models.CharField(max_length=64, blank=True)
    client_ids = models.CharField(max_length=1000, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_access_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # When this job first sent a DELETE for the session, recorded before sending: a 404 on a
    # later try (after a crash) means this job revoked it, not that it was already gone.
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "session_id", "offline"], name="unique_item_per_job"
            )
        ]
        indexes = [models.Index(fields=["job", "state"], name="idx_revitem_job_state")]

    def __str__(self) -> str:
        kind = "offline" if self.offline else "online"
        return f"{self.session_id} ({kind}) {self.state}"
