"""Making transports, rules and findings for the alerts tests."""

from django.utils import timezone

from tokenadmin.accounts.models import User
from tokenadmin.alerts.models import Rule, Transport, TransportKind
from tokenadmin.alerts.services import RuleInput, TransportInput, rule_save, transport_save
from tokenadmin.findings.models import Finding, Kind, Severity

SECRET = "s3cret-signing-key-0123456789"


def admin_user() -> User:
    return User.objects.get_or_create(username="alerts-admin")[0]


def webhook(receiver, *, realm: str = "mlflow", kind: str = TransportKind.WEBHOOK) -> Transport:
    return transport_save(
        realm=realm,
        actor=admin_user(),
        data=TransportInput(name=f"hook {kind}", kind=kind, url=receiver.url, secret=SECRET),
    )


def rule(
    transport: Transport,
    *,
    realm: str = "mlflow",
    kind: str = "",
    min_severity: str = Severity.MEDIUM,
    mode: str = Rule.Mode.IMMEDIATE,
    every_s: int = 3600,
) -> Rule:
    return rule_save(
        transport=transport,
        actor=admin_user(),
        data=RuleInput(
            realm=realm, kind=kind, min_severity=min_severity, mode=mode, digest_every_s=every_s
        ),
    )


def finding(
    subject: str,
    *,
    realm: str = "mlflow",
    kind: str = Kind.MANY_SESSIONS,
    severity: str = Severity.MEDIUM,
    sessions: int = 3,
) -> Finding:
    now = timezone.now()
    return Finding.objects.create(
        realm=realm,
        kind=kind,
        subject=f"id-{subject}",
        subject_label=subject,
        severity=severity,
        explanation=f"{subject} has {sessions} concurrent sessions (more than 2)",
        sessions=[f"s-{subject}-{n}" for n in range(sessions)],
        opened_at=now,
        checked_at=now,
    )
