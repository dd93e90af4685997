"""Celery: dispatch after each run of the checks, send deliveries, and beat's tick (digests due,
deliveries whose task was lost). Retries are kept in the database (Delivery.next_attempt_at), so
a retry Celery held when its worker died is queued again by the tick and by a starting worker."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from tokenadmin.core.queue import on_worker_start, task_enqueue

from .deliveries import deliveries_due, deliveries_stranded_release, delivery_send
from .dispatch import alerts_digests_send, alerts_dispatch
from .models import Delivery

logger = logging.getLogger(__name__)


def delivery_retry_queue(delivery: Delivery) -> None:
    """A delivery left waiting for its next attempt: queue that attempt for when it is due."""
    if delivery.state == Delivery.State.PENDING and delivery.next_attempt_at is not None:
        task_enqueue(delivery_send_task, delivery.pk, eta=delivery.next_attempt_at)


@shared_task
def delivery_send_task(delivery_pk: int) -> str | None:
    delivery = delivery_send(delivery_pk=delivery_pk)
    if delivery is None:
        return None
    delivery_retry_queue(delivery)
    return delivery.state


def deliveries_queue(pks: list[int]) -> None:
    for pk in pks:
        task_enqueue(delivery_send_task, pk)


@shared_task
def alerts_dispatch_task(realm: str) -> int:
    made = alerts_dispatch(realm=realm)
    deliveries_queue(made)
    return len(made)


def alerts_catch_up() -> list[int]:
    """Release deliveries whose sender died, then queue every waiting delivery (those not due
    yet for when they are due). Sending twice is harmless: the claim lets one through."""
    now = timezone.now()
    released = deliveries_stranded_release(now=now)
    if released:
        logger.info("alert deliveries %s were left mid-send; sending them again", released)
    due = deliveries_due(now=now)
    for pk, at in due:
        if at is not None and at > now:
            task_enqueue(delivery_send_task, pk, eta=at)
        else:
            task_enqueue(delivery_send_task, pk)
    return [pk for pk, _ in due]


@shared_task
def alerts_tick_task() -> int:
    """Beat, every minute: digests whose interval passed, and the catch-up."""
    made = alerts_digests_send()
    deliveries_queue(made)
    alerts_catch_up()
    return len(made)


@on_worker_start("alert deliveries left unsent by a stopped worker")
def alerts_deliveries_resume() -> None:
    alerts_catch_up()


def alerts_dispatch_enqueue(*, realm: str) -> None:
    """The findings_ran receiver: dispatch in a task of its own once the run is committed."""
    transaction.on_commit(lambda: task_enqueue(alerts_dispatch_task, realm))
