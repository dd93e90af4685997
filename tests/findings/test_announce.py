"""Checks run from the findings page are announced as a refresh's are: a worker tells alert
rules and policies, so an alert goes out and a policy records its dry run; the request itself
only queues that (no policy runs inside it)."""

import pytest
from django.urls import reverse

from tests.alerts.helpers import rule, webhook
from tests.fixtures.services import celery_app_point_at, celery_app_urls_set
from tests.fixtures.waiting import wait_for
from tests.policies.conftest import policy_make
from tokenadmin.alerts.models import Delivery
from tokenadmin.devstack import processes
from tokenadmin.findings.models import Finding, Kind
from tokenadmin.findings.services import realm_thresholds_set
from tokenadmin.policies.models import PolicyRun
from tokenadmin.sessionindex.refresh import realm_index_refresh

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tasks_restored():
    """This test points the Celery app somewhere; afterwards back to where it was."""
    from tokenadmin.celery import app

    before = {"broker_url": app.conf.broker_url, "result_backend": app.conf.result_backend}
    yield
    celery_app_urls_set(**before)


def busy_user_indexed(kc) -> None:
    """User `thrice` with three sessions against a limit of two (the only one over it), in a
    fresh index."""
    kc.admin("mlflow").create_user({"username": "thrice", "enabled": True})
    for _ in range(3):
        kc.create_session(realm="mlflow", username="thrice", client_id="mlflow")
    realm_thresholds_set(
        realm="mlflow", offline_idle_days=14, max_sessions_per_user=2, max_addresses_per_user=50
    )
    assert realm_index_refresh(realm="mlflow").state == "done"


@pytest.mark.parametrize("how", ["run now", "new thresholds"])
def test_checks_run_from_the_page_alert_and_run_policies_on_a_worker(
    how, kc, client_as, receiver, redis_server, mail_sink, worker_start, settings, tasks_restored
):
    busy_user_indexed(kc)
    rule(webhook(receiver), kind=Kind.MANY_SESSIONS)
    policy = policy_make(name="busy users", kind=Kind.MANY_SESSIONS)
    celery_app_point_at(redis_server, settings)  # the request queues onto the test's Redis
    client = client_as("operator")

    if how == "run now":
        page = client.post(reverse("findings:run", args=["mlflow"]), follow=True)
    else:
        thresholds = {
            "offline_idle_days": 14,
            "max_sessions_per_user": 2,
            "max_addresses_per_user": 50,
            "count_jump_percent": 50,
            "count_jump_min": 100,
        }
        url = reverse("findings:thresholds", args=["mlflow"])
        page = client.post(url, thresholds, follow=True)
    assert page.status_code == 200
    assert "task queue is unreachable" not in page.content.decode()
    assert Finding.objects.filter(kind=Kind.MANY_SESSIONS, subject_label="thrice").exists()
    # The request ran the checks and queued the announcement; nothing acted on it yet.
    assert not PolicyRun.objects.exists() and not Delivery.objects.exists()

    with worker_start("announce", mail_port=mail_sink.port):
        run = wait_for(
            lambda: PolicyRun.objects.filter(policy=policy).first(), what="the policy's dry run"
        )
        wait_for(lambda: receiver.received, what="the alert")
    assert run.outcome == PolicyRun.Outcome.REPORTED and run.trigger == "after findings"
    assert run.count == 3
    sent = {item["subject"] for r in receiver.received for item in r.json["findings"]}
    assert sent == {"thrice"}


def test_without_a_task_queue_the_page_says_who_hears_of_the_findings_later(
    kc, client_as, settings, tasks_restored
):
    busy_user_indexed(kc)
    policy = policy_make(name="busy users", kind=Kind.MANY_SESSIONS)
    # No Redis listens on this address: the announcement cannot be queued.
    nowhere = f"redis://127.0.0.1:{processes.free_port()}/0"
    settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = nowhere
    celery_app_urls_set(broker_url=nowhere, result_backend=nowhere)
    page = client_as("operator").post(reverse("findings:run", args=["mlflow"]), follow=True)

    text = page.content.decode()
    assert page.status_code == 200
    assert "Checks ran over the index: 1 new, 0 still open, 0 closed." in text
    assert "alert rules and policies will see these findings after the next index refresh" in (text)
    assert not PolicyRun.objects.filter(policy=policy).exists()  # never inside the request
