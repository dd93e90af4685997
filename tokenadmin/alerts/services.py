"""Changing transports and rules (each change in the ledger, without secrets), resuming a paused
transport, and sending a test: the functions views and tests call."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from tokenadmin.accounts.models import User
from tokenadmin.core.queue import task_enqueue
from tokenadmin.ledger.models import Action
from tokenadmin.ledger.services import LedgerDraft, ledger_entry_record

from .deliveries import delivery_send
from .models import Delivery, Rule, Transport, TransportKind
from .secrets import secret_seal

GLOBAL = "*"  # the ledger's realm for global transports and rules


class AlertsError(ValueError):
    """Bad input for a transport or rule (shown to the admin as it is)."""


@dataclass(frozen=True)
class TransportInput:
    name: str
    kind: str
    recipients: str = ""
    url: str = ""  # "" on a change: keep the stored one
    secret: str = ""  # "" on a change: keep the stored one


def transport_state(transport: Transport) -> dict[str, Any]:
    """What the ledger may hold about a transport: never the URL nor the secret."""
    return {
        "name": transport.name,
        "kind": transport.kind,
        "recipients": transport.recipients,
        "url": "set" if transport.url_is_set else "not set",
        "signing_key": "set" if transport.secret_is_set else "not set",
        "paused": transport.paused_at is not None,
    }


def _transport_draft(
    transport: Transport, actor: User, before: dict[str, Any] | None, reason: str
) -> LedgerDraft:
    return LedgerDraft(
        actor=actor,
        action=Action.ALERT_TRANSPORT_CHANGED,
        realm=transport.realm or GLOBAL,
        target_type="alert_transport",
        target_id=str(transport.pk or ""),
        target_label=transport.name,
        reason=reason,
        before=before,
    )


def _transport_check(data: TransportInput, *, creating: bool) -> None:
    if not data.name.strip():
        raise AlertsError("Give the transport a name.")
    if data.kind == TransportKind.EMAIL:
        if not data.recipients.strip():
            raise AlertsError("Give at least one email address.")
        return
    if creating and not data.url:
        raise AlertsError("Give the webhook URL.")
    if data.url and not data.url.startswith(("https://", "http://")):
        raise AlertsError("The URL must start with https:// (or http:// on a private network).")
    if data.kind == TransportKind.WEBHOOK and creating and len(data.secret) < 16:
        raise AlertsError("Give a signing secret of at least 16 characters.")
    if data.secret and len(data.secret) < 16:
        raise AlertsError("A signing secret needs at least 16 characters.")


def transport_save(
    *, realm: str, actor: User, data: TransportInput, transport: Transport | None = None
) -> Transport:
    """Create a transport of `realm` ("" global) or change one; a blank URL or secret on a
    change keeps the stored one."""
    creating = transport is None
    _transport_check(data, creating=creating)
    transport = transport or Transport(realm=realm)
    before = None if creating else transport_state(transport)
    transport.name = data.name.strip()
    transport.kind = data.kind
    transport.recipients = data.recipients.strip() if data.kind == TransportKind.EMAIL else ""
    if data.kind == TransportKind.EMAIL:
        transport.url_sealed = transport.secret_sealed = ""
    else:
        if data.url:
            transport.url_sealed = secret_seal(data.url)
        if data.kind != TransportKind.WEBHOOK:
            transport.secret_sealed = ""
        elif data.secret:
            transport.secret_sealed = secret_seal(data.secret)
    with transaction.atomic():
        transport.save()
        draft = _transport_draft(transport, actor, before, "created" if creating else "changed")
        ledger_entry_record(draft, after=transport_state(transport))
    return transport


def transport_delete(*, transport: Transport, actor: User) -> None:
    draft = _transport_draft(transport, actor, transport_state(transport), "deleted")
    with transaction.atomic():
        transport.delete()
        ledger_entry_record(draft, after=None)


def transport_resume(*, transport: Transport, actor: User) -> list[int]:
    """Unpause: the failure count starts again and waiting deliveries are queued."""
    from .tasks import delivery_send_task

    draft = _transport_draft(transport, actor, transport_state(transport), "resumed")
    with transaction.atomic():
        transport.paused_at = None
        transport.paused_reason = ""
        transport.failures_in_a_row = 0
        transport.save(update_fields=["paused_at", "paused_reason", "failures_in_a_row"])
        ledger_entry_record(draft, after=transport_state(transport))
    waiting = list(
        transport.deliveries.filter(state=Delivery.State.PENDING).values_list("pk", flat=True)
    )
    for pk in waiting:
        task_enqueue(delivery_send_task, pk)
    return waiting


def transport_test_send(*, transport: Transport) -> Delivery:
    """Send a test message now (even to a paused transport, to see whether it works again),
    logged as a delivery; a retryable failure is retried by a worker as any delivery is."""
    from .tasks import delivery_retry_queue

    delivery = Delivery.objects.create(
        transport=transport,
        event=Delivery.Event.TEST,
        summary=f"A test from tokenadmin to the transport “{transport.name}”",
        payload={"findings": [], "more": 0},
    )
    sent = delivery_send(delivery_pk=delivery.pk, even_paused=True)
    if sent is not None:
        delivery_retry_queue(sent)
    delivery.refresh_from_db()
    return delivery


@dataclass(frozen=True)
class RuleInput:
    realm: str
    kind: str
    min_severity: str
    mode: str
    digest_every_s: int


def rule_state(rule: Rule) -> dict[str, Any]:
    return {
        "transport": rule.transport.name,
        "realm": rule.realm or "all",
        "kind": rule.kind or "all",
        "min_severity": rule.min_severity,
        "mode": rule.mode,
        "digest_every_s": rule.digest_every_s if rule.mode == Rule.Mode.DIGEST else None,
    }


def _rule_draft(rule: Rule, actor: User, before: dict | None, reason: str) -> LedgerDraft:
    return LedgerDraft(
        actor=actor,
        action=Action.ALERT_RULE_CHANGED,
        realm=rule.transport.realm or GLOBAL,
        target_type="alert_rule",
        target_id=str(rule.pk or ""),
        target_label=f"rule → {rule.transport.name}",
        reason=reason,
        before=before,
    )


def rule_save(
    *, transport: Transport, actor: User, data: RuleInput, rule: Rule | None = None
) -> Rule:
    """Create or change a rule. A realm's transport only takes that realm's findings."""
    if transport.realm and data.realm not in ("", transport.realm):
        raise AlertsError(f"This transport belongs to realm {transport.realm}.")
    if data.mode == Rule.Mode.DIGEST and not 60 <= data.digest_every_s <= 7 * 86400:
        raise AlertsError("A digest interval runs from 1 minute to 7 days.")
    creating = rule is None
    rule = rule or Rule(transport=transport)
    before = None if creating else rule_state(rule)
    rule.transport = transport
    rule.realm = transport.realm or data.realm
    rule.kind = data.kind
    rule.min_severity = data.min_severity
    rule.mode = data.mode
    rule.digest_every_s = data.digest_every_s
    with transaction.atomic():
        rule.save()
        ledger_entry_record(
            _rule_draft(rule, actor, before, "created" if creating else "changed"),
            after=rule_state(rule),
        )
    return rule


def rule_delete(*, rule: Rule, actor: User) -> None:
    draft = _rule_draft(rule, actor, rule_state(rule), "deleted")
    with transaction.atomic():
        rule.delete()
        ledger_entry_record(draft, after=None)
