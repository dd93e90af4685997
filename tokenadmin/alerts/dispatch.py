"""From findings to deliveries: which rules match, what changed since a rule last sent it.

A rule sends a finding once, then again only when its fingerprint (severity, sessions,
explanation) changes, or when the delivery that carried it failed for good; muted and closed
findings are not sent. A paused transport's rules send
nothing and record nothing, so what is open when it resumes is sent then."""

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from tokenadmin.findings.models import Finding, Severity

from .models import SEVERITY_RANK, Delivery, Rule, Sent


def finding_fingerprint(finding: Finding) -> str:
    held = [finding.severity, sorted(finding.sessions), finding.explanation]
    return hashlib.sha256(json.dumps(held).encode()).hexdigest()


def finding_item(finding: Finding) -> dict[str, Any]:
    """A finding as deliveries carry it (no session ids: a count and the page's link)."""
    path = reverse("findings:realm", args=[finding.realm])
    return {
        "id": finding.pk,
        "realm": finding.realm,
        "kind": finding.kind,
        "kind_label": finding.get_kind_display(),
        "severity": finding.severity,
        "subject": finding.subject_label or finding.subject,
        "explanation": finding.explanation,
        "sessions": len(finding.sessions),
        "opened_at": finding.opened_at.isoformat(),
        "url": f"{settings.TOKENADMIN_BASE_URL}{path}",
    }


def rule_findings(rule: Rule) -> QuerySet[Finding]:
    """Open, unmuted findings the rule routes."""
    floor = SEVERITY_RANK[Severity(rule.min_severity)]
    severities = [s for s, rank in SEVERITY_RANK.items() if rank >= floor]
    found = Finding.objects.filter(
        closed_at__isnull=True, muted_at__isnull=True, severity__in=severities
    )
    if rule.realm:
        found = found.filter(realm=rule.realm)
    if rule.kind:
        found = found.filter(kind=rule.kind)
    return found.order_by("opened_at", "pk")


def _changed(rule: Rule, findings: QuerySet[Finding]) -> list[tuple[Finding, str]]:
    sent = dict(Sent.objects.filter(rule=rule).values_list("finding_id", "fingerprint"))
    out = []
    for finding in findings.iterator(chunk_size=1000):
        fingerprint = finding_fingerprint(finding)
        if sent.get(finding.pk) != fingerprint:
            out.append((finding, fingerprint))
    return out


def _record_sent(rule: Rule, changed: list[tuple[Finding, str]], now: datetime) -> None:
    for finding, fingerprint in changed:
        Sent.objects.update_or_create(
            rule=rule, finding=finding, defaults={"fingerprint": fingerprint, "sent_at": now}
        )


def _grouped(rule: Rule, changed: list[tuple[Finding, str]], *, event: str) -> Delivery:
    cap = settings.ALERTS_DIGEST_MAX_FINDINGS
    where = f" in {rule.realm}" if rule.realm else ""
    return Delivery.objects.create(
        transport=rule.transport,
        rule=rule,
        event=event,
        summary=f"{len(changed)} finding(s) new or changed{where}",
        payload={
            "findings": [finding_item(f) for f, _ in changed[:cap]],
            "more": max(0, len(changed) - cap),
        },
    )


def _one(rule: Rule, finding: Finding) -> Delivery:
    return Delivery.objects.create(
        transport=rule.transport,
        rule=rule,
        event=Delivery.Event.FINDING,
        summary=(
            f"{finding.get_severity_display()} finding in {finding.realm}: "
            f"{finding.get_kind_display()} ({finding.subject_label or finding.subject})"
        ),
        payload={"findings": [finding_item(finding)], "more": 0},
    )


def alerts_dispatch(*, realm: str, now: datetime | None = None) -> list[int]:
    """After a run of the realm's checks: immediate rules send what is new or changed, one
    delivery per finding (grouped into one when more than ALERTS_IMMEDIATE_MAX changed at
    once). Returns the new deliveries' pks, to be sent."""
    now = now or timezone.now()
    made: list[int] = []
    rules = Rule.objects.filter(
        Q(realm="") | Q(realm=realm),
        mode=Rule.Mode.IMMEDIATE,
        transport__paused_at__isnull=True,
    )
    for rule_pk in rules.values_list("pk", flat=True):
        with transaction.atomic():
            # The lock keeps two dispatches of one realm from both sending the same change.
            rule = Rule.objects.select_for_update().select_related("transport").get(pk=rule_pk)
            changed = _changed(rule, rule_findings(rule).filter(realm=realm))
            if len(changed) > settings.ALERTS_IMMEDIATE_MAX:
                made.append(_grouped(rule, changed, event=Delivery.Event.DIGEST).pk)
            else:
                made.extend(_one(rule, finding).pk for finding, _ in changed)
            _record_sent(rule, changed, now)
    return made


def alerts_digests_send(*, now: datetime | None = None) -> list[int]:
    """Digest rules whose interval has passed: one delivery with every finding new or changed
    since the rule last sent it (none when nothing changed). Returns the new deliveries' pks."""
    now = now or timezone.now()
    made: list[int] = []
    rules = Rule.objects.filter(mode=Rule.Mode.DIGEST, transport__paused_at__isnull=True)
    for rule_pk in rules.values_list("pk", flat=True):
        with transaction.atomic():
            rule = Rule.objects.select_for_update().select_related("transport").get(pk=rule_pk)
            last = rule.last_digest_at
            if last is not None and last + timedelta(seconds=rule.digest_every_s) > now:
                continue
            changed = _changed(rule, rule_findings(rule))
            if changed:
                made.append(_grouped(rule, changed, event=Delivery.Event.DIGEST).pk)
                _record_sent(rule, changed, now)
            rule.last_digest_at = now
            rule.save(update_fields=["last_digest_at"])
    return made
