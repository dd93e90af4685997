from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    """Every kind of change tokenadmin makes. Kept out of the column's `choices` so that a new
    action needs no migration; `ledger_entry_create` refuses unknown values."""

    SESSION_REVOKED = "session_revoked", "Session signed out"
    OFFLINE_SESSION_REVOKED = "offline_session_revoked", "Offline session revoked"
    USER_SIGNED_OUT = "user_signed_out", "User signed out everywhere"
    CONSENT_REVOKED = "consent_revoked", "Offline tokens of a client revoked (consent)"
    CLIENT_SESSIONS_REVOKED = "client_sessions_revoked", "Client's sessions signed out"
    REALM_SIGNED_OUT = "realm_signed_out", "Realm-wide sign-out"
    NOT_BEFORE_SET = "not_before_set", "Not-before set"
    NOT_BEFORE_CLEARED = "not_before_cleared", "Not-before cleared"
    PUSH_REVOCATION = "push_revocation", "Revocation pushed to clients"
    BULK_REVOCATION = "bulk_revocation", "Bulk revocation"
    LIFESPANS_UPDATED = "lifespans_updated", "Realm lifespans changed"
    LIFESPANS_ROLLED_BACK = "lifespans_rolled_back", "Realm lifespans rolled back"
    CLIENT_LIFESPANS_UPDATED = "client_lifespans_updated", "Client lifespan overrides changed"
    SAVED_VIEW_CHANGED = "saved_view_changed", "Saved view changed"
    REPORT_CHANGED = "report_changed", "Expiry report changed"
    FINDING_MUTED = "finding_muted", "Finding muted"
    ALERT_TRANSPORT_CHANGED = "alert_transport_changed", "Alert transport changed"
    ALERT_RULE_CHANGED = "alert_rule_changed", "Alert rule changed"
    POLICY_CHANGED = "policy_changed", "Revocation policy changed"
    POLICY_ENFORCED = "policy_enforced", "Revocation policy switched to enforce"
    POLICY_DRY_RUN = "policy_dry_run", "Revocation policy switched to dry run"


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partly failed"
    FAILED = "failed", "Failed"


class LedgerEntry(models.Model):
    """One change tokenadmin made (or tried to), as it happened. Rows are never edited."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Kept as text too: the ledger must still say who when the Django user row is gone.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_username = models.CharField(max_length=255, db_index=True)
    actor_sub = models.CharField(max_length=255, blank=True)
    realm = models.CharField(max_length=255, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=255, blank=True, db_index=True)
    target_label = models.CharField(max_length=500, blank=True)
    reason = models.TextField(blank=True)
    ticket = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=16, default=Outcome.SUCCEEDED, db_index=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username} {self.action}"

    @property
    def action_label(self) -> str:
        try:
            return Action(self.action).label
        except ValueError:
            return self.action

    @property
    def outcome_label(self) -> str:
        try:
            return Outcome(self.outcome).label
        except ValueError:
            return self.outcome

    @property
    def target_user_id(self) -> str:
        """The Keycloak user an entry is about (for the link to the user page), or ""."""
        if self.target_type == "user":
            return self.target_id
        if self.target_type == "consent":
            return self.target_id.partition("/")[0]
        if self.target_type in ("session", "offline_session") and isinstance(self.before, dict):
            return str(self.before.get("user_id") or "")
        return ""
