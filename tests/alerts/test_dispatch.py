"""Which findings a rule sends and when: not again until changed, never muted, grouped by the
digest per interval, and through the findings_ran signal after a real refresh."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.alerts.helpers import admin_user, finding, rule, webhook
from tokenadmin.alerts.dispatch import alerts_digests_send, alerts_dispatch
from tokenadmin.alerts.models import Delivery, Rule
from tokenadmin.findings.models import Finding, Kind, Severity
from tokenadmin.findings.services import finding_mute, realm_thresholds_set
from tokenadmin.findings.tasks import REFRESH_ONE, findings_after_refresh
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.django_db


def subjects(pks: list[int]) -> list[str]:
    return [
        item["subject"] for pk in pks for item in Delivery.objects.get(pk=pk).payload["findings"]
    ]


def test_a_finding_is_not_sent_again_until_it_changes(receiver):
    rule(webhook(receiver))
    busy = finding("busy")
    assert subjects(alerts_dispatch(realm="mlflow")) == ["busy"]
    assert alerts_dispatch(realm="mlflow") == []

    Finding.objects.filter(pk=busy.pk).update(checked_at=timezone.now())  # a run, no change
    assert alerts_dispatch(realm="mlflow") == []

    Finding.objects.filter(pk=busy.pk).update(sessions=[*busy.sessions, "s-busy-new"])
    assert subjects(alerts_dispatch(realm="mlflow")) == ["busy"]
    Finding.objects.filter(pk=busy.pk).update(severity=Severity.HIGH)
    assert subjects(alerts_dispatch(realm="mlflow")) == ["busy"]
    Finding.objects.filter(pk=busy.pk).update(explanation="busy has 9 concurrent sessions")
    assert subjects(alerts_dispatch(realm="mlflow")) == ["busy"]
    assert alerts_dispatch(realm="mlflow") == []


def test_muted_and_closed_findings_are_not_sent(receiver):
    rule(webhook(receiver))
    muted = finding("muted")
    closed = finding("closed")
    finding_mute(finding=muted, actor=admin_user(), reason="shared kiosk account")
    Finding.objects.filter(pk=closed.pk).update(closed_at=timezone.now())
    finding("open")
    assert subjects(alerts_dispatch(realm="mlflow")) == ["open"]


def test_rules_route_by_realm_kind_and_minimum_severity(receiver):
    transport = webhook(receiver, realm="")  # a global transport
    high_anywhere = rule(transport, realm="", min_severity=Severity.HIGH)
    mlflow_addresses = rule(transport, realm="mlflow", kind=Kind.MANY_ADDRESSES)
    finding("low", severity=Severity.LOW)
    finding("medium")
    finding("roamer", kind=Kind.MANY_ADDRESSES)
    finding("high-mlflow", severity=Severity.HIGH)
    finding("high-master", realm="master", severity=Severity.HIGH)

    made = alerts_dispatch(realm="mlflow") + alerts_dispatch(realm="master")
    by_rule = {
        r.pk: sorted(subjects(list(Delivery.objects.filter(rule=r).values_list("pk", flat=True))))
        for r in (high_anywhere, mlflow_addresses)
    }
    assert len(made) == 3
    assert by_rule == {
        high_anywhere.pk: ["high-master", "high-mlflow"],
        mlflow_addresses.pk: ["roamer"],
    }


def test_many_changes_at_once_go_out_as_one_grouped_message(receiver, settings):
    settings.ALERTS_IMMEDIATE_MAX = 2
    rule(webhook(receiver))
    for name in ("a", "b", "c"):
        finding(name)
    [pk] = alerts_dispatch(realm="mlflow")
    delivery = Delivery.objects.get(pk=pk)
    assert delivery.event == "digest"
    assert delivery.summary == "3 finding(s) new or changed in mlflow"
    assert subjects([pk]) == ["a", "b", "c"]


def test_a_digest_groups_the_findings_of_each_interval(receiver):
    digest = rule(webhook(receiver), mode=Rule.Mode.DIGEST, every_s=3600)
    immediate_made = alerts_dispatch(realm="mlflow")
    start = timezone.now()
    for name in ("a", "b", "c"):
        finding(name)
    finding("other-realm", realm="master")
    assert immediate_made == [] and alerts_dispatch(realm="mlflow") == []  # digest only

    [first] = alerts_digests_send(now=start)
    assert subjects([first]) == ["a", "b", "c"]
    assert Delivery.objects.get(pk=first).rule_id == digest.pk

    finding("d")
    assert alerts_digests_send(now=start + timedelta(minutes=10)) == []  # interval not over
    [second] = alerts_digests_send(now=start + timedelta(minutes=61))
    assert subjects([second]) == ["d"]  # only what is new or changed since the last digest
    assert alerts_digests_send(now=start + timedelta(minutes=130)) == []  # nothing changed


def test_a_refresh_that_opens_a_finding_alerts_through_the_findings_ran_signal(
    kc, receiver, django_capture_on_commit_callbacks
):
    from tokenadmin.celery import app

    kc.admin("mlflow").create_user({"username": "twice", "enabled": True})
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=1, max_addresses_per_user=50
    )
    for _ in range(2):
        kc.create_session(realm="mlflow", username="twice", client_id="mlflow")
    rule(webhook(receiver), kind=Kind.MANY_SESSIONS)
    assert realm_index_refresh(realm="mlflow").state == "done"

    # The worker's own path: the refresh task ends, the checks run, the signal queues the
    # dispatch, which queues the sends (run inline here instead of on a worker).
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            findings_after_refresh(task_name=REFRESH_ONE, args=["mlflow"], kwargs={}, retval="done")
    finally:
        app.conf.task_always_eager = eager

    sent = {item["subject"] for r in receiver.received for item in r.json["findings"]}
    assert "twice" in sent
    assert Delivery.objects.filter(state="delivered").count() == len(receiver.received) >= 1


def test_beats_tick_sends_due_digests_and_deliveries_whose_task_was_lost(receiver):
    from tokenadmin.alerts.tasks import alerts_tick_task
    from tokenadmin.celery import app

    rule(webhook(receiver), mode=Rule.Mode.DIGEST, every_s=300)
    immediate = rule(webhook(receiver, realm="master"), realm="master")
    finding("a")
    finding("lost", realm="master")
    [lost] = alerts_dispatch(realm="master")  # made, but its task never ran (Redis was down)
    assert Delivery.objects.get(pk=lost).rule_id == immediate.pk
    Delivery.objects.filter(pk=lost).update(created_at=timezone.now() - timedelta(minutes=2))
    finding("b", realm="master")
    [fresh] = alerts_dispatch(realm="master")  # its task is on its way: not the tick's
    finished_long_ago = Delivery.objects.create(
        transport_id=immediate.transport_id,
        event="test",
        summary="old",
        payload={},
        state="delivered",
        finished_at=timezone.now() - timedelta(days=31),
    )

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        alerts_tick_task()
    finally:
        app.conf.task_always_eager = eager

    assert Delivery.objects.filter(state="delivered").count() == 2
    assert Delivery.objects.get(pk=fresh).state == "pending"
    assert not Delivery.objects.filter(pk=finished_long_ago.pk).exists()  # pruned
    events = sorted(
        (r.headers["X-Tokenadmin-Event"], r.json["findings"][0]["subject"])
        for r in receiver.received
    )
    assert events == [("digest", "a"), ("finding", "lost")]
