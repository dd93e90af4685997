"""Real Celery workers: a delivery claimed by a worker that died is sent again under the same
delivery id by the next worker's start hook, never as a new delivery; a delivered one is never
sent again; and a refresh that opens a finding alerts through the findings_ran signal."""

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.alerts.helpers import finding, rule, webhook
from tests.fixtures.services import celery_worker_running
from tests.fixtures.waiting import wait_for
from tokenadmin.alerts.deliveries import delivery_send
from tokenadmin.alerts.dispatch import alerts_dispatch
from tokenadmin.alerts.models import Delivery
from tokenadmin.alerts.tasks import delivery_send_task

pytestmark = pytest.mark.django_db(transaction=True)


def worker(redis_server, emulator, mail_sink, settings, tmp_path, name: str):
    return celery_worker_running(
        redis=redis_server,
        emulator_url=emulator.base_url,
        mail_port=mail_sink.port,
        log_path=tmp_path / f"{name}.log",
        name=name,
        settings=settings,
    )


def test_a_claimed_but_unsent_delivery_is_sent_once_by_the_next_worker_start(
    receiver, redis_server, emulator, mail_sink, settings, tmp_path
):
    transport = webhook(receiver)
    rule(transport)
    finding("done")
    [done_pk] = alerts_dispatch(realm="mlflow")
    assert delivery_send(delivery_pk=done_pk).state == "delivered"  # type: ignore[union-attr]
    finding("stranded")
    [stranded_pk] = alerts_dispatch(realm="mlflow")
    # What a worker killed between its claim and its request leaves: SENDING, one attempt
    # counted, its lease over.
    Delivery.objects.filter(pk=stranded_pk).update(
        state="sending", attempts=1, lease_until=timezone.now() - timedelta(seconds=1)
    )
    stranded = Delivery.objects.get(pk=stranded_pk)

    with worker(redis_server, emulator, mail_sink, settings, tmp_path, "restarted"):
        wait_for(
            lambda: Delivery.objects.get(pk=stranded_pk).state == "delivered",
            what="the stranded delivery to be sent by the new worker",
        )

    ids = [r.delivery_id for r in receiver.received]
    assert ids.count(str(stranded.delivery_id)) == 1
    assert ids.count(str(Delivery.objects.get(pk=done_pk).delivery_id)) == 1  # not again
    assert Delivery.objects.count() == 2  # no new delivery was made for it
    assert Delivery.objects.get(pk=stranded_pk).attempts == 2


def test_a_worker_killed_mid_delivery_is_followed_by_a_resend_with_the_same_id(
    receiver, redis_server, emulator, mail_sink, settings, tmp_path
):
    receiver.script = ["slow"]
    receiver.slow_s = 20
    rule(webhook(receiver))
    finding("busy")
    [pk] = alerts_dispatch(realm="mlflow")
    delivery = Delivery.objects.get(pk=pk)

    with worker(redis_server, emulator, mail_sink, settings, tmp_path, "first") as first:
        delivery_send_task.delay(pk)
        wait_for(lambda: receiver.received, what="the first worker's request")
        assert Delivery.objects.get(pk=pk).state == "sending"  # claimed, answer not yet back
        os.killpg(first.process.pid, signal.SIGKILL)  # type: ignore[attr-defined]
        first.process.wait()  # type: ignore[attr-defined]
    # The lease (about a minute) runs out; moved here rather than waited for.
    Delivery.objects.filter(pk=pk).update(lease_until=timezone.now() - timedelta(seconds=1))

    with worker(redis_server, emulator, mail_sink, settings, tmp_path, "second"):
        wait_for(
            lambda: Delivery.objects.get(pk=pk).state == "delivered",
            what="the resend by the restarted worker",
        )

    # At least once: the receiver may see it twice, always under the one delivery id.
    assert [r.delivery_id for r in receiver.received] == [str(delivery.delivery_id)] * 2
    assert receiver.received[0].body == receiver.received[1].body
    assert Delivery.objects.count() == 1
