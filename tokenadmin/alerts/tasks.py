"""Celery: dispatch after each run of the checks, send deliveries, and beat's tick (digests due,
deliveries whose task was lost). Retries are kept in the database (Delivery.next_attempt_at), so
a retry Celery held when its worker died is queued again by the tick and by a starting worker."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tokenadmin.core.queue import on_worker_start, task_enqueue

from .deliveries import (
    deliveries_due,
    deliveries_prune,
    deliveries_stranded_release,
    delivery_send,
)
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


def alerts_catch_up(*, overdue_s: float, with_future: bool) -> list[int]:
    """Release deliveries whose sender died and queue them, then queue every waiting delivery
    due for longer than `overdue_s` (its task was lost: Redis down, a worker killed holding a
    retry); `with_future` also queues those not due yet, for when they are due (a starting
    worker: the one that held their retries may be the one that died). Sending twice is
    harmless: the claim lets one through."""
    now = timezone.now()
    released = deliveries_stranded_release(now=now)
    if released:
        logger.info("alert deliveries %s were left mid-send; sending them again", released)
    queued = list(released)
    for pk, due in deliveries_due(now=now):
        if pk in released:
            continue
        if due <= now - timedelta(seconds=overdue_s):
            task_enqueue(delivery_send_task, pk)
        elif due > now and with_future:
            task_enqueue(delivery_send_task, pk, eta=due)
        else:
            continue
        queued.append(pk)
    for pk in released:
        task_enqueue(delivery_send_task, pk)
    return queued


@shared_task
def alerts_tick_task() -> int:
    """Beat, every minute: digests whose interval passed, deliveries whose task was lost, and
    the log's old rows."""
    made = alerts_digests_send()
    deliveries_queue(made)
    alerts_catch_up(overdue_s=settings.QUEUE_SWEEP_AFTER_S, with_future=False)
    deliveries_prune()
    return len(made)


@on_worker_start("alert deliveries left unsent by a stopped worker")
def alerts_deliveries_resume() -> None:
    alerts_catch_up(overdue_s=0, with_future=True)


def alerts_dispatch_enqueue(*, realm: str) -> None:
    """The findings_ran receiver: dispatch in a task of its own once the run is committed."""
    transaction.on_commit(lambda: task_enqueue(alerts_dispatch_task, realm))
