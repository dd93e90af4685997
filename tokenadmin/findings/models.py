"""Findings: what the checks found in a realm's index, open until their condition is gone."""

from django.db import models


class Kind(models.TextChoices):
    OFFLINE_IDLE = "offline_idle", "Offline sessions idle too long"
    MANY_SESSIONS = "many_sessions", "User with many concurrent sessions"
    MANY_ADDRESSES = "many_addresses", "User with sessions from many addresses"
    DISABLED_USER = "disabled_user", "Sessions of a disabled user"
    MISSING_USER = "missing_user", "Sessions of a user who no longer exists"
    CREDENTIAL_CHANGED = "credential_changed", "Sessions older than the user's credential change"
    CLIENT_DISABLED = "client_disabled", "Sessions of a disabled client"
    SECRET_ROTATED = "secret_rotated", "Sessions older than their client's secret rotation"
    COUNT_JUMP = "count_jump", "Session count jumped against recent history"
    LIFESPAN_DRIFT = "lifespan_drift", "Lifespans changed outside tokenadmin"
    POLICY_CAPPED = "policy_capped", "A revocation policy stopped at its cap"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


# Under Keycloak's default offline idle timeout (30 days), so the check finds something there.
DEFAULT_OFFLINE_IDLE_DAYS = 14
DEFAULT_MAX_SESSIONS = 10
DEFAULT_MAX_ADDRESSES = 5
# A count jump: this much above or below the median of the recent refreshes, and by at least
# this many sessions (a realm of 12 sessions going to 20 is no news).
DEFAULT_JUMP_PERCENT = 50
DEFAULT_JUMP_MIN = 100


class RealmThresholds(models.Model):
    """A realm's thresholds; a realm without a row uses the defaults."""

    realm = models.CharField(max_length=255, unique=True)
    offline_idle_days = models.PositiveIntegerField(default=DEFAULT_OFFLINE_IDLE_DAYS)
    max_sessions_per_user = models.PositiveIntegerField(default=DEFAULT_MAX_SESSIONS)
    max_addresses_per_user = models.PositiveIntegerField(default=DEFAULT_MAX_ADDRESSES)
    count_jump_percent = models.PositiveIntegerField(default=DEFAULT_JUMP_PERCENT)
    count_jump_min = models.PositiveIntegerField(default=DEFAULT_JUMP_MIN)

    def __str__(self) -> str:
        return f"thresholds of {self.realm}"


class Finding(models.Model):
    """One condition about one subject (a user) of a realm. A run of the checks updates the
    open finding of the same (realm, kind, subject), opens new ones, and closes those whose
    condition no longer holds (their sessions gone or back under the threshold)."""

    realm = models.CharField(max_length=255)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The Keycloak user id; a client's uuid (client kinds); "realm" or "client:<clientId>"
    # (count jump); "lifespans" (drift).
    subject = models.CharField(max_length=255)
    subject_label = models.CharField(max_length=255, blank=True)  # the username
    severity = models.CharField(max_length=8, choices=Severity.choices)
    explanation = models.TextField()
    # The sessions behind it, as the revocation preview takes them: "<id>" or "<id>:offline".
    sessions = models.JSONField(default=list)
    opened_at = models.DateTimeField()
    checked_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    muted_at = models.DateTimeField(null=True, blank=True)
    muted_by = models.CharField(max_length=255, blank=True)
    mute_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["realm", "kind", "subject"],
                condition=models.Q(closed_at__isnull=True),
                name="one_open_finding_per_subject",
            )
        ]
        indexes = [models.Index(fields=["realm", "closed_at", "opened_at"], name="idx_find_open")]

    def __str__(self) -> str:
        return f"{self.realm}/{self.kind}/{self.subject_label or self.subject}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
