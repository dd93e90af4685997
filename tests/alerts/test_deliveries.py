"""Deliveries to a real HTTP receiver: the signature, retries with backoff on 500 and timeouts,
none on 400, the pause after repeated failure, and email through the real SMTP sink."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.alerts.helpers import SECRET, admin_user, finding, rule, webhook
from tests.alerts.receiver import signature_valid
from tokenadmin.alerts.deliveries import delivery_send
from tokenadmin.alerts.dispatch import alerts_dispatch
from tokenadmin.alerts.models import Delivery, Transport, TransportKind
from tokenadmin.alerts.services import TransportInput, transport_resume, transport_save

pytestmark = pytest.mark.django_db


def one_delivery(receiver, **rule_options) -> Delivery:
    transport = webhook(receiver)
    rule(transport, **rule_options)
    finding("busy")
    [pk] = alerts_dispatch(realm="mlflow")
    return Delivery.objects.get(pk=pk)


def test_a_signed_webhook_carries_a_valid_signature_and_one_delivery_id(receiver):
    delivery = one_delivery(receiver)

    sent = delivery_send(delivery_pk=delivery.pk)

    assert sent is not None
    assert (sent.state, sent.http_status, sent.attempts) == ("delivered", 200, 1)
    [got] = receiver.received
    header = got.headers["X-Tokenadmin-Signature"]
    assert header.startswith("t=") and ",v1=" in header
    assert signature_valid(secret=SECRET, header=header, body=got.body)
    assert not signature_valid(secret="another-secret-0123456789", header=header, body=got.body)
    assert not signature_valid(secret=SECRET, header=header, body=got.body + b" ")
    assert got.delivery_id == got.json["delivery_id"] == str(delivery.delivery_id)
    assert got.headers["X-Tokenadmin-Event"] == "finding"
    [item] = got.json["findings"]
    assert (item["realm"], item["subject"], item["sessions"]) == ("mlflow", "busy", 3)
    assert item["url"].endswith("/findings/mlflow/")
    assert b"s-busy-0" not in got.body  # session ids stay in tokenadmin


def test_a_500_is_retried_with_exponential_backoff_under_the_same_delivery_id(receiver, settings):
    settings.ALERTS_RETRY_BASE_S = 30
    receiver.script = [500, 503]
    delivery = one_delivery(receiver)

    first = delivery_send(delivery_pk=delivery.pk)
    assert first is not None and first.next_attempt_at is not None
    assert (first.state, first.http_status, first.attempts) == ("pending", 500, 1)
    assert "HTTP 500" in first.error
    wait = first.next_attempt_at - timezone.now()
    assert timedelta(seconds=25) < wait <= timedelta(seconds=30)
    assert delivery_send(delivery_pk=delivery.pk) is None  # not due yet: nothing sent
    assert len(receiver.received) == 1

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    second = delivery_send(delivery_pk=delivery.pk)
    assert second is not None and second.next_attempt_at is not None
    assert (second.state, second.http_status, second.attempts) == ("pending", 503, 2)
    wait = second.next_attempt_at - timezone.now()
    assert timedelta(seconds=55) < wait <= timedelta(seconds=60)  # twice as long

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    third = delivery_send(delivery_pk=delivery.pk)
    assert third is not None
    assert (third.state, third.http_status, third.attempts, third.error) == (
        "delivered",
        200,
        3,
        "",
    )
    assert [r.delivery_id for r in receiver.received] == [str(delivery.delivery_id)] * 3


def test_a_timeout_is_retried(receiver, settings):
    settings.ALERTS_HTTP_TIMEOUT_S = 1
    settings.ALERTS_RETRY_BASE_S = 0
    receiver.slow_s = 2.5
    receiver.script = ["slow"]
    delivery = one_delivery(receiver)

    first = delivery_send(delivery_pk=delivery.pk)
    assert first is not None
    assert (first.state, first.http_status, first.attempts) == ("pending", None, 1)
    assert "timed out" in first.error
    second = delivery_send(delivery_pk=delivery.pk)
    assert second is not None
    assert (second.state, second.attempts) == ("delivered", 2)


def test_a_400_is_not_retried(receiver, settings):
    settings.ALERTS_RETRY_BASE_S = 0
    receiver.script = [400]
    delivery = one_delivery(receiver)

    sent = delivery_send(delivery_pk=delivery.pk)
    assert sent is not None
    assert (sent.state, sent.http_status, sent.attempts) == ("failed", 400, 1)
    assert "HTTP 400" in sent.error
    assert delivery_send(delivery_pk=delivery.pk) is None
    assert len(receiver.received) == 1


def test_retries_stop_after_the_last_attempt(receiver, settings):
    settings.ALERTS_RETRY_BASE_S = 0
    settings.ALERTS_MAX_ATTEMPTS = 3
    receiver.script = [500, 500, 500, 500]
    delivery = one_delivery(receiver)
    states = [delivery_send(delivery_pk=delivery.pk) for _ in range(4)]
    assert [s.state if s else None for s in states] == ["pending", "pending", "failed", None]
    assert len(receiver.received) == 3


def test_a_transport_failing_again_and_again_is_paused_with_its_reason_and_resumes(
    receiver, settings
):
    settings.ALERTS_PAUSE_AFTER_FAILURES = 3
    receiver.script = [400, 410, 400]
    transport = webhook(receiver)
    rule(transport)
    for name in ("a", "b", "c"):
        finding(name)
    made = alerts_dispatch(realm="mlflow")
    assert len(made) == 3
    for pk in made:
        delivery_send(delivery_pk=pk)

    transport.refresh_from_db()
    assert transport.paused_at is not None
    assert "Paused after 3 failed deliveries in a row" in transport.paused_reason
    assert "HTTP 400" in transport.paused_reason
    # Paused: its rules send nothing and record nothing.
    finding("d")
    assert alerts_dispatch(realm="mlflow") == []

    assert transport_resume(transport=transport, actor=admin_user()) == []
    transport.refresh_from_db()
    assert (transport.paused_at, transport.failures_in_a_row) == (None, 0)
    # What is open now goes out: d, and a, b, c whose deliveries failed (nobody was told).
    made = alerts_dispatch(realm="mlflow")
    for pk in made:
        sent = delivery_send(delivery_pk=pk)
        assert sent is not None and sent.state == "delivered"
    told = [r.json["findings"][0]["subject"] for r in receiver.received[3:]]
    assert sorted(told) == ["a", "b", "c", "d"]
    assert alerts_dispatch(realm="mlflow") == []  # and now they are not sent again


def test_a_success_resets_the_count_of_failures_in_a_row(receiver, settings):
    settings.ALERTS_PAUSE_AFTER_FAILURES = 2
    receiver.script = [400, 200, 400]
    transport = webhook(receiver)
    rule(transport)
    for name in ("a", "b", "c"):
        finding(name)
    for pk in alerts_dispatch(realm="mlflow"):
        delivery_send(delivery_pk=pk)
    transport.refresh_from_db()
    assert (transport.paused_at, transport.failures_in_a_row) == (None, 1)


def test_slack_and_teams_get_their_own_message_shapes(receiver):
    slack = webhook(receiver, kind=TransportKind.SLACK)
    teams = webhook(receiver, kind=TransportKind.TEAMS)
    assert not slack.secret_is_set  # only signed webhooks keep a secret
    rule(slack)
    rule(teams)
    finding("busy")
    for pk in alerts_dispatch(realm="mlflow"):
        assert delivery_send(delivery_pk=pk).state == "delivered"  # type: ignore[union-attr]
    by_shape = {("text" in r.json): r.json for r in receiver.received}
    assert "busy has 3 concurrent sessions" in by_shape[True]["text"]
    card = by_shape[False]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "busy" in str(card["content"]["body"])


def test_an_unreachable_url_is_retried_and_the_error_does_not_name_the_url(receiver, settings):
    settings.ALERTS_RETRY_BASE_S = 0
    transport = transport_save(
        realm="mlflow",
        actor=admin_user(),
        data=TransportInput(
            name="nowhere", kind=TransportKind.SLACK, url="http://127.0.0.1:9/T0KEN/path"
        ),
    )
    rule(transport)
    finding("busy")
    [pk] = alerts_dispatch(realm="mlflow")
    sent = delivery_send(delivery_pk=pk)
    assert sent is not None and sent.state == "pending"
    assert "Could not connect" in sent.error
    assert "T0KEN" not in sent.error


def test_the_email_transport_sends_through_the_smtp_sink(mail_sink):
    transport = transport_save(
        realm="mlflow",
        actor=admin_user(),
        data=TransportInput(
            name="ops mail", kind=TransportKind.EMAIL, recipients="ops@example.com"
        ),
    )
    rule(transport)
    finding("busy")
    [pk] = alerts_dispatch(realm="mlflow")

    sent = delivery_send(delivery_pk=pk)

    assert sent is not None and sent.state == "delivered"
    [mail] = mail_sink.received()
    assert mail.to == "ops@example.com"
    assert "[tokenadmin] Medium finding in mlflow" in mail.subject
    assert mail.message["X-Tokenadmin-Delivery"] == str(sent.delivery_id)
    assert "busy has 3 concurrent sessions" in mail.body()
    assert Transport.objects.get(pk=transport.pk).failures_in_a_row == 0
