"""Alert rules, transports and deliveries: findings routed to email, Slack, Teams or a webhook."""

import uuid

from django.db import models

from tokenadmin.findings.models import Finding, Severity


class TransportKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams incoming webhook"
    WEBHOOK = "webhook", "Signed webhook (JSON)"


class Transport(models.Model):
    """Where alerts go. `realm` "" is a global transport (superadmins); otherwise a realm's own.
    The URL and the signing secret are write-only: stored sealed (alerts/secrets.py), never
    shown, logged or put in the ledger again."""

    realm = models.CharField(max_length=255, blank=True, db_index=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=TransportKind.choices)
    recipients = models.TextField(blank=True)  # email: comma-separated addresses (not secret)
    url_sealed = models.TextField(blank=True)
    secret_sealed = models.TextField(blank=True)
    # Failed deliveries in a row; at settings.ALERTS_PAUSE_AFTER_FAILURES the transport pauses.
    failures_in_a_row = models.PositiveIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def url_is_set(self) -> bool:
        return bool(self.url_sealed)

    @property
    def secret_is_set(self) -> bool:
        return bool(self.secret_sealed)


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


class Rule(models.Model):
    """Findings of `realm` ("" all) and `kind` ("" all) at `min_severity` or above go to
    `transport`, one delivery per finding (immediate) or one per interval (digest)."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", "Immediately, one message per finding"
        DIGEST = "digest", "Digest, one message per interval"

    transport = models.ForeignKey(Transport, on_delete=models.CASCADE, related_name="rules")
    realm = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=32, blank=True)
    min_severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.IMMEDIATE)
    digest_every_s = models.PositiveIntegerField(default=3600)
    last_digest_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"rule {self.pk} → {self.transport.name}"

    def matches(self, finding: Finding) -> bool:
        return (
            (not self.realm or self.realm == finding.realm)
            and (not self.kind or self.kind == finding.kind)
            and SEVERITY_RANK.get(Severity(finding.severity), 0)
            >= SEVERITY_RANK.get(Severity(self.min_severity), 0)
        )


class Sent(models.Model):
    """What a rule last sent about a finding: it is not sent again until this changes."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE)
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE)
    fingerprint = models.CharField(max_length=64)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "finding"], name="one_sent_per_rule_finding")
        ]

    def __str__(self) -> str:
        return f"rule {self.rule_id} sent finding {self.finding_id}"


class Delivery(models.Model):
    """One message to one transport, and how it went. Claimed (PENDING → SENDING) in one UPDATE
    before it is sent; a sender that dies leaves it SENDING until its lease ends, then it is
    sent again with the same delivery id (at least once; receivers deduplicate by the id)."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        UNCERTAIN = "uncertain", "Possibly delivered"

    class Event(models.TextChoices):
        FINDING = "finding", "Finding"
        DIGEST = "digest", "Digest"
        TEST = "test", "Test"

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    transport = models.ForeignKey(Transport, on_delete=models.CASCADE, related_name="deliveries")
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL)
    event = models.CharField(max_length=16, choices=Event.choices)
    summary = models.CharField(max_length=500)
    payload = models.JSONField()
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["transport", "-created_at"], name="idx_delivery_transport")]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} ({self.state})"
