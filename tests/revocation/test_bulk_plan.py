"""The bulk preview counts without listing, its plan travels signed to the start, and the job
lists the sessions itself, live, sparing the acting admin."""

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tokenadmin.ledger.models import LedgerEntry
from tokenadmin.revocation import bulk
from tokenadmin.revocation.bulk import (
    PLAN_ALTERED,
    PLAN_OTHER_REALM,
    Kind,
    Plan,
    Recipe,
    revocation_job_create,
    revocation_plan_build,
)
from tokenadmin.revocation.jobs import job_counts, revocation_job_run
from tokenadmin.revocation.models import RevocationItem, RevocationJob
from tokenadmin.sessionindex.models import IndexedSession
from tokenadmin.sessionindex.refresh import realm_index_refresh


def mlflow_live_count(kc) -> int:
    admin = kc.admin("mlflow")
    uuid = admin.get_client_id("mlflow")
    return admin.connection.raw_get(f"admin/realms/mlflow/clients/{uuid}/session-count").json()[
        "count"
    ]


def mlflow_client_job(operator) -> tuple[Plan, RevocationJob]:
    """The plan for every online session of client mlflow and its job, targets not yet listed."""
    plan = revocation_plan_build(
        admin=operator.gateway,
        realm="mlflow",
        recipe=Recipe(kind=Kind.CLIENT, client_id="mlflow"),
        own_session_id=operator.session_id,
    )
    return plan, revocation_job_create(plan=plan, actor=operator.user, reason="leaked")


def test_a_client_preview_counts_in_the_index_and_its_job_reads_keycloak_live(kc, acting_as):
    kc.seed(realm="mlflow", users=30, sessions=120, offline_ratio=0, clients=["mlflow"])
    realm_index_refresh(realm="mlflow")
    indexed = IndexedSession.objects.filter(realm="mlflow", offline=False).count()
    # Sessions that start after the refresh: the index has not seen them, the job will.
    kc.seed(realm="mlflow", users=5, sessions=15, offline_ratio=0, clients=["mlflow"])
    live = mlflow_live_count(kc)
    assert live > indexed
    operator = acting_as("operator")

    plan, job = mlflow_client_job(operator)
    assert not RevocationItem.objects.filter(job=job).exists()  # nothing listed yet
    revocation_job_run(job_id=job.pk)

    assert plan.count == indexed
    assert len(plan.sample) == bulk.SAMPLE_SIZE
    assert "as of its last refresh" in plan.source
    job.refresh_from_db()
    assert job.targets_ready and job.total == live
    assert job_counts(job).done == live
    assert mlflow_live_count(kc) == 0


def test_the_preview_reads_as_many_queries_for_many_sessions_as_for_few(kc, acting_as):
    kc.seed(realm="mlflow", users=10, sessions=40, offline_ratio=0.3, clients=["mlflow"])
    realm_index_refresh(realm="mlflow")
    operator = acting_as("operator")
    recipe = Recipe(kind=Kind.FILTER, query={"client": "mlflow"})

    def preview_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            plan = revocation_plan_build(
                admin=operator.gateway, realm="mlflow", recipe=recipe, own_session_id=""
            )
        return plan.total, len(queries)

    few, few_queries = preview_queries()
    kc.seed(realm="mlflow", users=100, sessions=1500, offline_ratio=0.3, clients=["mlflow"])
    realm_index_refresh(realm="mlflow")
    many, many_queries = preview_queries()

    assert many > few + 1000
    assert many_queries == few_queries


def preview_plan(client, realm: str = "mlflow") -> str:
    preview = client.get(
        reverse("revocation:bulk-preview", args=[realm]), {"kind": "client", "client": "mlflow"}
    )
    assert preview.status_code == 200
    return preview.context["form"]["plan"].value()


def test_a_tampered_plan_is_refused_and_starts_nothing(kc, client_as):
    client = client_as("operator")
    plan = preview_plan(client)
    # The signed payload's first character changed: the signature no longer matches.
    tampered = ("x" if plan[0] != "x" else "y") + plan[1:]

    response = client.post(
        reverse("revocation:bulk-start", args=["mlflow"]), {"plan": tampered, "reason": "x"}
    )

    assert response.status_code == 409
    assert PLAN_ALTERED in response.content.decode()
    assert not RevocationJob.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_an_expired_plan_is_refused_and_starts_nothing(kc, client_as, monkeypatch):
    client = client_as("operator")
    plan = preview_plan(client)
    monkeypatch.setattr(bulk, "PLAN_MAX_AGE_S", -1)

    response = client.post(
        reverse("revocation:bulk-start", args=["mlflow"]), {"plan": plan, "reason": "x"}
    )

    assert response.status_code == 409
    assert "Preview again to see what would be revoked now" in response.content.decode()
    assert not RevocationJob.objects.exists()


def test_a_plan_previewed_for_one_realm_cannot_start_in_another(kc, client_as):
    client = client_as("admin")
    plan = preview_plan(client, "mlflow")

    response = client.post(
        reverse("revocation:bulk-start", args=["master"]), {"plan": plan, "reason": "x"}
    )

    assert response.status_code == 409
    assert PLAN_OTHER_REALM in response.content.decode()
    assert not RevocationJob.objects.exists()


def test_the_job_spares_the_admins_session_the_index_had_not_seen(kc, acting_as):
    operator = acting_as("operator")
    realm_index_refresh(realm="master")
    admin = acting_as("admin")  # signed in after the refresh: not in the index
    recipe = Recipe(kind=Kind.CLIENT, client_id=settings.KEYCLOAK_CLIENT_ID)
    plan = revocation_plan_build(
        admin=admin.gateway, realm="master", recipe=recipe, own_session_id=admin.session_id
    )
    assert plan.excluded == ()
    assert operator.session_id in {t.session_id for t in plan.sample}

    job = revocation_job_create(
        plan=plan, actor=admin.user, reason="test", spared_session_ids=(admin.session_id,)
    )
    revocation_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert [ex["session_id"] for ex in job.excluded] == [admin.session_id]
    assert not job.items.filter(session_id=admin.session_id).exists()
    user_id = kc.admin().get_user_id("admin")
    assert admin.session_id in {s["id"] for s in kc.admin().get_sessions(user_id)}


def test_offline_tokens_in_a_realm_never_indexed_are_previewed_as_not_counted_yet(kc, client_as):
    client = client_as("operator")

    preview = client.get(
        reverse("revocation:bulk-preview", args=["mlflow"]),
        {"kind": "offline_older_than", "client": "mlflow", "older_than_days": 30},
    )

    page = preview.content.decode()
    assert preview.context["plan"].count is None
    assert 'data-testid="preview-count">?<' in page
    assert "the job reads the list live from Keycloak when it runs" in page
    assert 'data-testid="bulk-start"' in page


def test_a_job_whose_client_was_deleted_since_the_preview_stops_and_says_why(kc, acting_as):
    kc.seed(realm="mlflow", users=5, sessions=20, clients=["mlflow"])
    operator = acting_as("operator")
    _plan, job = mlflow_client_job(operator)
    admin = kc.admin("mlflow")
    admin.delete_client(admin.get_client_id("mlflow"))

    revocation_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == RevocationJob.State.STOPPED
    assert "Keycloak refused to list the sessions to revoke" in job.stopped_reason
    assert not job.items.exists()
