"""The finding a capped policy run raises (Kind.POLICY_CAPPED), and its closing."""

from datetime import datetime

from tokenadmin.findings.models import Finding, Kind, Severity

from .models import Policy


def _subject(policy: Policy) -> str:
    return f"policy:{policy.pk}"


def policy_capped_finding_raise(
    *, policy: Policy, sessions: list[str], cap: int, now: datetime
) -> Finding:
    """Open the policy's capped finding, or update the open one (the checks' runs leave it
    alone: findings.services.RAISED_ELSEWHERE)."""
    explanation = (
        f"Policy “{policy.name}” would revoke {len(sessions)} session(s), more than its cap of "
        f"{cap} (at most {policy.max_sessions} and {policy.max_share_percent} % of the realm's "
        "sessions per run). It stopped before revoking anything: check its findings, then raise "
        "the cap or revoke these sessions by hand."
    )
    finding = Finding.objects.filter(
        realm=policy.realm, kind=Kind.POLICY_CAPPED, subject=_subject(policy), closed_at=None
    ).first()
    if finding is None:
        return Finding.objects.create(
            realm=policy.realm,
            kind=Kind.POLICY_CAPPED,
            subject=_subject(policy),
            subject_label=policy.name,
            severity=Severity.HIGH,
            explanation=explanation,
            sessions=sessions,
            opened_at=now,
            checked_at=now,
        )
    finding.subject_label = policy.name
    finding.explanation = explanation
    finding.sessions = sessions
    finding.checked_at = now
    finding.save(update_fields=["subject_label", "explanation", "sessions", "checked_at"])
    return finding


def policy_capped_finding_close(*, policy: Policy, now: datetime) -> int:
    """Close the policy's capped finding once a run is back under its cap; how many closed."""
    return Finding.objects.filter(
        realm=policy.realm,
        kind=Kind.POLICY_CAPPED,
        subject=_subject(policy),
        closed_at__isnull=True,
    ).update(closed_at=now, checked_at=now)
