"""The world the security tests act in: real objects on realm mlflow behind every URL."""

from dataclasses import dataclass

import pytest
from django.utils import timezone

from tests.fixtures.jobs import finished_job
from tests.reports.conftest import report_create
from tokenadmin.findings.models import Finding, Kind
from tokenadmin.keycloak.oidc import unverified_claims
from tokenadmin.lifespans.catalog import lifespan_values_of
from tokenadmin.lifespans.models import LifespanSnapshot
from tokenadmin.policies.models import Policy, PolicyRun
from tokenadmin.reports.services import report_run_request, report_run_send
from tokenadmin.revocation.models import RevocationItem
from tokenadmin.sessionindex.models import SavedView
from tokenadmin.sessionindex.refresh import realm_index_refresh


@dataclass
class World:
    """Real objects on realm mlflow for every URL argument, so an allowed user gets a page."""

    user_id: str
    session_id: str
    client_uuid: str
    job_id: int
    snapshot_id: int
    report_id: int
    spare_report_id: int  # for delete
    spare_view_id: int  # for delete
    mail_name: str
    finding_id: int
    transport_id: int  # an email transport of mlflow, with a rule
    rule_id: int
    spare_transport_id: int  # for delete
    policy_id: int = 0
    policy_run_id: int = 0


def alerts_world() -> tuple[int, int, int]:
    from tokenadmin.alerts.models import Rule, Transport

    transport = Transport.objects.create(
        realm="mlflow", name="ops mail", kind="email", recipients="ops@example.com"
    )
    rule = Rule.objects.create(transport=transport, realm="mlflow")
    spare = Transport.objects.create(
        realm="mlflow", name="spare", kind="email", recipients="ops@example.com"
    )
    return transport.pk, rule.pk, spare.pk


@pytest.fixture
def world(kc, db, demo_mailbox) -> World:
    mlflow = kc.admin(realm_name="mlflow")
    tokens = kc.password_login(
        "mlflow", "mlflow", "mlflow_user", "mlflow_user", secret="mlflow-secret"
    )
    realm_index_refresh(realm="mlflow")
    job = finished_job(
        label="sessions of mlflow_user",
        session_id="gone",
        username="mlflow_user",
        state=RevocationItem.State.FAILED,
        error="test",
    )
    snapshot = LifespanSnapshot.objects.create(
        realm="mlflow",
        kind=LifespanSnapshot.Kind.APPROVED,
        values=lifespan_values_of(mlflow.get_realm("mlflow")),
        actor_username="tokenadmin",
    )
    report = report_create(name="mlflow report", realms=["mlflow"])
    spare = report_create(name="spare report", realms=["mlflow"])
    report_run_send(run_id=report_run_request(report=report, actor=None).pk)
    [mail] = demo_mailbox.received()
    transport_id, rule_id, spare_transport_id = alerts_world()
    policy = Policy.objects.create(
        realm="mlflow", name="idle offline", kind="offline_idle", created_by="operator"
    )
    run = PolicyRun.objects.create(
        policy=policy, ran_at=timezone.now(), trigger="test", mode="dry_run", outcome="nothing"
    )
    return World(
        policy_id=policy.pk,
        policy_run_id=run.pk,
        user_id=mlflow.get_user_id("mlflow_user"),
        session_id=unverified_claims(tokens["access_token"])["sid"],
        client_uuid=mlflow.get_client_id("mlflow"),
        job_id=job.pk,
        snapshot_id=snapshot.pk,
        report_id=report.pk,
        spare_report_id=spare.pk,
        spare_view_id=SavedView.objects.create(realm="mlflow", name="spare", query={}).pk,
        mail_name=mail.path.name,
        finding_id=Finding.objects.create(
            realm="mlflow",
            kind=Kind.MANY_SESSIONS,
            subject="x",
            severity="medium",
            explanation="test",
            opened_at=timezone.now(),
            checked_at=timezone.now(),
        ).pk,
        transport_id=transport_id,
        rule_id=rule_id,
        spare_transport_id=spare_transport_id,
    )
