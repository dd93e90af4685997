"""Revocation policies: a rule that acts on a realm's open findings, in dry-run or enforcing."""

from django.conf import settings
from django.db import models

from tokenadmin.findings.models import Kind, Severity
from tokenadmin.revocation.recipes import Target

# A run that would revoke more than either of these stops before revoking anything.
DEFAULT_MAX_SESSIONS = 500
DEFAULT_MAX_SHARE_PERCENT = 5
# Severity order, lowest first, for "this severity or higher".
SEVERITY_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH)
# A policy acts on what the checks find, never on its own capped findings.
POLICY_KINDS = [(value, label) for value, label in Kind.choices if value != Kind.POLICY_CAPPED]


class Mode(models.TextChoices):
    DRY_RUN = "dry_run", "Dry run (reports only)"
    ENFORCE = "enforce", "Enforce (revokes)"


class Policy(models.Model):
    """Which findings of a realm a policy acts on, how, and how much a run may revoke."""

    realm = models.CharField(max_length=255)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32, choices=POLICY_KINDS)
    # Blank: every severity; else this severity or higher.
    min_severity = models.CharField(max_length=8, choices=Severity.choices, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.DRY_RUN)
    max_sessions = models.PositiveIntegerField(default=DEFAULT_MAX_SESSIONS)
    max_share_percent = models.PositiveSmallIntegerField(default=DEFAULT_MAX_SHARE_PERCENT)
    created_by = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who switched it to enforce (the jobs and the ledger name them) and the session they did
    # it from: a run never revokes their sessions.
    enforced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enforced_by_username = models.CharField(max_length=255, blank=True)
    enforced_session_id = models.CharField(max_length=64, blank=True)
    enforced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["realm", "name"]
        constraints = [
            models.UniqueConstraint(fields=["realm", "name"], name="unique_policy_name_per_realm")
        ]

    def __str__(self) -> str:
        return f"{self.realm}/{self.name} ({self.mode})"

    @property
    def is_enforcing(self) -> bool:
        return self.mode == Mode.ENFORCE

    def severities(self) -> list[str]:
        """The severities it acts on."""
        if not self.min_severity:
            return [s.value for s in SEVERITY_ORDER]
        at = [s.value for s in SEVERITY_ORDER].index(self.min_severity)
        return [s.value for s in SEVERITY_ORDER[at:]]


class PolicyRun(models.Model):
    """One run of a policy, kept: what it found, what it did (or would have done), and why."""

    class Outcome(models.TextChoices):
        NOTHING = "nothing", "Nothing to revoke"
        REPORTED = "reported", "Dry run: reported, nothing revoked"
        STARTED = "started", "Revocation job started"
        CAPPED = "capped", "Stopped at its cap, nothing revoked"
        FAILED = "failed", "Failed, nothing revoked"

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="runs")
    ran_at = models.DateTimeField(db_index=True)
    trigger = models.CharField(max_length=32)  # "after findings" or "run now by <admin>"
    mode = models.CharField(max_length=16, choices=Mode.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    count = models.PositiveIntegerField(default=0)
    offline_count = models.PositiveIntegerField(default=0)
    realm_sessions = models.PositiveIntegerField(default=0)
    cap = models.PositiveIntegerField(default=0)  # the lower of the count cap and the share cap
    # Up to SAMPLE_SIZE targets as revocation.recipes.Target dicts; every target's key
    # ("<id>" or "<id>:offline"); sessions left alone, as [{"session_id", "why"}].
    sample = models.JSONField(default=list)
    targets = models.JSONField(default=list)
    excluded = models.JSONField(default=list)
    findings = models.PositiveIntegerField(default=0)  # how many findings it acted on
    detail = models.TextField(blank=True)
    job = models.ForeignKey(
        "revocation.RevocationJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.policy_id}: {self.outcome}"

    @property
    def sample_targets(self) -> list[Target]:
        """The sample as targets (times as datetimes), for the pages."""
        return [Target.from_dict(item) for item in self.sample]
