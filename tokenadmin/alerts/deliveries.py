"""Deliveries: claimed before they are sent, retried with exponential backoff, and a transport
that keeps failing paused with its reason.

At least once, never twice as a new delivery: a delivery is claimed (PENDING → SENDING, with a
lease) in one UPDATE before any byte goes out, so two workers never both send it. A worker
killed mid-send leaves it SENDING; once the lease is over the worker-start hook or the sweeper
sends it again under the same delivery id (the receiver may have got the first copy: it
deduplicates by `X-Tokenadmin-Delivery`). A webhook that timed out may also have acted; the
retry carries the same id for the same reason.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .models import Delivery, Sent, Transport
from .transports import Outcome, transport_send

logger = logging.getLogger(__name__)

State = Delivery.State


def _lease_until(now: datetime) -> datetime:
    longest = max(settings.ALERTS_HTTP_TIMEOUT_S, settings.EMAIL_TIMEOUT or 0)
    return now + timedelta(seconds=2 * longest + 30)


def retry_delay_s(attempt: int) -> float:
    """The wait after attempt n: base, then twice as long each time (base * 2 ** (n - 1))."""
    return float(settings.ALERTS_RETRY_BASE_S * 2 ** (attempt - 1))


def delivery_claim(*, delivery_pk: int, now: datetime, even_paused: bool = False) -> bool:
    """PENDING and due → SENDING, counted as an attempt; False when not ours to send (already
    claimed, finished, not due, or its transport paused)."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    mine = Delivery.objects.filter(due, pk=delivery_pk, state=State.PENDING)
    if not even_paused:
        mine = mine.filter(transport__paused_at__isnull=True)
    claimed = mine.update(
        state=State.SENDING, attempts=F("attempts") + 1, lease_until=_lease_until(now)
    )
    return claimed == 1


def delivery_send(*, delivery_pk: int, even_paused: bool = False) -> Delivery | None:
    """Claim and attempt one delivery; record how it went. None when it was not ours."""
    if not delivery_claim(delivery_pk=delivery_pk, now=timezone.now(), even_paused=even_paused):
        return None
    delivery = Delivery.objects.select_related("transport").get(pk=delivery_pk)
    outcome = transport_send(transport=delivery.transport, delivery=delivery)
    return delivery_outcome_record(delivery=delivery, outcome=outcome, now=timezone.now())


def delivery_outcome_record(*, delivery: Delivery, outcome: Outcome, now: datetime) -> Delivery:
    retry = outcome.retry and delivery.attempts < settings.ALERTS_MAX_ATTEMPTS
    if outcome.delivered:
        state = State.DELIVERED
    elif outcome.uncertain:
        state = State.UNCERTAIN
    elif retry:
        state = State.PENDING
    else:
        state = State.FAILED
    fields = {
        "state": state,
        "http_status": outcome.http_status,
        "error": outcome.error,
        "lease_until": None,
        "next_attempt_at": now + timedelta(seconds=retry_delay_s(delivery.attempts))
        if retry
        else None,
        "finished_at": None if retry else now,
    }
    Delivery.objects.filter(pk=delivery.pk, state=State.SENDING).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)
    if outcome.delivered:
        Transport.objects.filter(pk=delivery.transport_id).update(failures_in_a_row=0)
    elif state == State.FAILED:
        _failure_count(transport_pk=delivery.transport_id, error=outcome.error, now=now)
        # Nobody was told: the rule's next dispatch sends these findings again.
        if delivery.rule_id is not None:
            found = [item["id"] for item in delivery.payload.get("findings", [])]
            Sent.objects.filter(rule_id=delivery.rule_id, finding_id__in=found).delete()
    logger.info(
        "alert delivery %s to transport %s: %s (attempt %s, HTTP %s)",
        delivery.delivery_id,
        delivery.transport_id,
        state,
        delivery.attempts,
        outcome.http_status,
    )
    return delivery


def _failure_count(*, transport_pk: int, error: str, now: datetime) -> None:
    Transport.objects.filter(pk=transport_pk).update(failures_in_a_row=F("failures_in_a_row") + 1)
    limit = settings.ALERTS_PAUSE_AFTER_FAILURES
    paused = Transport.objects.filter(
        pk=transport_pk, paused_at__isnull=True, failures_in_a_row__gte=limit
    ).update(
        paused_at=now,
        paused_reason=f"Paused after {limit} failed deliveries in a row; the last: {error}",
    )
    if paused:
        logger.warning("alert transport %s paused after %s failed deliveries", transport_pk, limit)


def deliveries_stranded_release(*, now: datetime | None = None) -> list[int]:
    """SENDING past its lease (its sender died) → PENDING, due now, same delivery id."""
    now = now or timezone.now()
    stranded = Delivery.objects.filter(state=State.SENDING, lease_until__lt=now)
    ids = list(stranded.values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids, state=State.SENDING).update(
        state=State.PENDING, next_attempt_at=now, lease_until=None
    )
    return ids


def deliveries_due(*, now: datetime | None = None) -> list[tuple[int, datetime]]:
    """Waiting deliveries of transports that are not paused: (pk, when due), where a
    delivery never tried is due since it was made."""
    now = now or timezone.now()
    waiting = Delivery.objects.filter(state=State.PENDING, transport__paused_at__isnull=True)
    return [
        (pk, next_at or created)
        for pk, next_at, created in waiting.order_by("pk").values_list(
            "pk", "next_attempt_at", "created_at"
        )
    ]


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Finished deliveries older than ALERTS_DELIVERIES_KEEP_DAYS go: the log stays bounded."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ALERTS_DELIVERIES_KEEP_DAYS)
    old = Delivery.objects.filter(finished_at__lt=cutoff)
    return old.delete()[0]
