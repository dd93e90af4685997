"""A policy's run: the sessions of the open findings it acts on, checked against its cap, then
reported (dry run) or handed to a revocation job through the existing launch path (enforce)."""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from tokenadmin.findings.models import Finding
from tokenadmin.keycloak import Gateway, GatewayError, gateway_for_worker
from tokenadmin.revocation.bulk import Plan, revocation_job_create
from tokenadmin.revocation.launch import revocation_job_start
from tokenadmin.revocation.outcomes import RevocationRefused
from tokenadmin.revocation.recipes import Kind as RecipeKind
from tokenadmin.revocation.recipes import Recipe, Target
from tokenadmin.revocation.targets import index_for_selection
from tokenadmin.sessionindex.selectors import realm_totals_select

from .capped import policy_capped_finding_close, policy_capped_finding_raise
from .models import Policy, PolicyRun

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 20
# Keys looked up in the index per query (well under SQLite's bound on parameters).
LOOKUP_CHUNK = 900
AFTER_FINDINGS = "after findings"
# Runs kept per policy (one per refresh adds up); older ones are dropped as new ones come.
RUNS_KEPT = 500
ENFORCER_OWN = "a session of {who}, who switched this policy to enforce"
ENFORCER_GONE = (
    "The admin who switched this policy to enforce no longer exists in tokenadmin; nothing was "
    "revoked. Switch it to enforce again."
)
QUEUE_DOWN = "The task queue did not answer; the job waits and the sweeper queues it again."
KEYCLOAK_DOWN = "Keycloak did not answer ({error}); the job waits and is tried again."


@dataclass(frozen=True)
class Collected:
    """What a run found: its targets (described from the index) and whom it leaves alone."""

    targets: list[Target]
    excluded: list[dict[str, str]]
    findings: int

    @property
    def keys(self) -> list[str]:
        return [f"{t.session_id}:offline" if t.offline else t.session_id for t in self.targets]


def _findings_acted_on(policy: Policy) -> list[Finding]:
    return list(
        Finding.objects.filter(
            realm=policy.realm,
            kind=policy.kind,
            severity__in=policy.severities(),
            closed_at__isnull=True,
            muted_at__isnull=True,
        ).order_by("opened_at", "id")
    )


def _described(realm: str, keys: list[str]) -> Iterator[Target]:
    for at in range(0, len(keys), LOOKUP_CHUNK):
        chunk = tuple(keys[at : at + LOOKUP_CHUNK])
        yield from index_for_selection(realm, Recipe(kind=RecipeKind.SELECTION, sessions=chunk))


def policy_targets_collect(*, policy: Policy) -> Collected:
    """The sessions of the open, unmuted findings the policy acts on, each once, in the order
    the findings opened. When enforcing, the sessions of the admin who switched it on (the one
    they switched it from, and any of their Keycloak user) are left out and listed."""
    findings = _findings_acted_on(policy)
    keys = list(dict.fromkeys(key for f in findings for key in f.sessions))
    spared_id = policy.enforced_session_id if policy.is_enforcing else ""
    enforcer = policy.enforced_by if policy.is_enforcing else None
    spared_user = (enforcer.keycloak_sub or "") if enforcer else ""
    targets: list[Target] = []
    excluded: list[dict[str, str]] = []
    for target in _described(policy.realm, keys):
        if (spared_id and target.session_id == spared_id) or (
            spared_user and target.user_id == spared_user
        ):
            why = ENFORCER_OWN.format(who=policy.enforced_by_username)
            excluded.append(
                {"session_id": target.session_id, "username": target.username, "why": why}
            )
            continue
        targets.append(target)
    return Collected(targets=targets, excluded=excluded, findings=len(findings))


def policy_cap(*, policy: Policy, realm_sessions: int) -> int:
    """The most one run may revoke: the lower of the count and the share of the realm."""
    return min(policy.max_sessions, realm_sessions * policy.max_share_percent // 100)


def policy_run(
    *,
    policy: Policy,
    trigger: str = AFTER_FINDINGS,
    gateway_factory: Callable[[], Gateway] = gateway_for_worker,
    now: datetime | None = None,
) -> PolicyRun:
    """Run the policy once and keep the run. A dry run and a capped run change nothing in
    Keycloak; an enforcing run under its cap starts one revocation job with exactly the
    reported sessions, as the worker's service account (`gateway_factory`)."""
    now = now or timezone.now()
    collected = policy_targets_collect(policy=policy)
    realm_sessions = realm_totals_select(realm=policy.realm, now=now)[0].total
    cap = policy_cap(policy=policy, realm_sessions=realm_sessions)
    count = len(collected.targets)
    run = PolicyRun(
        policy=policy,
        ran_at=now,
        trigger=trigger[:32],
        mode=policy.mode,
        count=count,
        offline_count=sum(t.offline for t in collected.targets),
        realm_sessions=realm_sessions,
        cap=cap,
        sample=[t.as_dict() for t in collected.targets[:SAMPLE_SIZE]],
        targets=collected.keys,
        excluded=collected.excluded,
        findings=collected.findings,
    )
    if count > cap:
        run.outcome = PolicyRun.Outcome.CAPPED
        run.save()
        if policy.is_enforcing:
            policy_capped_finding_raise(policy=policy, sessions=collected.keys, cap=cap, now=now)
        return run
    policy_capped_finding_close(policy=policy, now=now)
    if count == 0:
        run.outcome = PolicyRun.Outcome.NOTHING
    elif not policy.is_enforcing:
        run.outcome = PolicyRun.Outcome.REPORTED
    else:
        return _enforce(
            policy=policy, run=run, collected=collected, gateway_factory=gateway_factory
        )
    run.save()
    return run


def _reason(policy: Policy) -> str:
    return (
        f"Revocation policy “{policy.name}” (#{policy.pk}) on its open "
        f"“{policy.get_kind_display()}” findings; switched to enforce by "
        f"{policy.enforced_by_username}"
    )


def _enforce(
    *,
    policy: Policy,
    run: PolicyRun,
    collected: Collected,
    gateway_factory: Callable[[], Gateway],
) -> PolicyRun:
    """Record the run, then start a job with exactly its targets (their admin's sessions
    spared), inline when small, else on a worker: revocation/launch.py decides."""
    if policy.enforced_by is None:
        run.outcome, run.detail = PolicyRun.Outcome.FAILED, ENFORCER_GONE
        run.save()
        return run
    plan = Plan(
        realm=policy.realm,
        recipe=Recipe(kind=RecipeKind.SELECTION, sessions=tuple(collected.keys)),
        count=run.count,
        offline_count=run.offline_count,
        sample=tuple(collected.targets[:SAMPLE_SIZE]),
        excluded=tuple(collected.excluded),
        source=f"the open findings of policy “{policy.name}”",
    )
    try:
        job = revocation_job_create(
            plan=plan,
            actor=policy.enforced_by,
            reason=_reason(policy),
            ticket=f"policy #{policy.pk}",
            spared_session_ids=(policy.enforced_session_id,),
        )
    except RevocationRefused as refused:
        run.outcome, run.detail = PolicyRun.Outcome.FAILED, str(refused)
        run.save()
        return run
    run.outcome, run.job = PolicyRun.Outcome.STARTED, job
    run.save()

    def queue_unreachable() -> None:
        PolicyRun.objects.filter(pk=run.pk).update(detail=QUEUE_DOWN)

    try:
        revocation_job_start(
            job_id=job.pk,
            count=run.count,
            gateway_factory=gateway_factory,
            queue_unreachable=queue_unreachable,
        )
    except GatewayError as exc:
        logger.warning("policy %s: job %s could not start here: %s", policy.pk, job.pk, exc)
        run.detail = KEYCLOAK_DOWN.format(error=exc)
        run.save(update_fields=["detail"])
    return run


def policies_after_findings_run(*, realm: str) -> list[PolicyRun]:
    """Run every policy of the realm once its findings are fresh. The one function to call
    after a findings run (today from Celery's task_postrun, see apps.py; the findings signal
    once it exists). A failing policy does not stop the others."""
    runs = []
    for policy in Policy.objects.filter(realm=realm).select_related("enforced_by"):
        try:
            runs.append(policy_run(policy=policy))
            policy_runs_prune(policy=policy)
        except Exception:
            logger.exception("revocation policy %s of %s failed", policy.pk, realm)
    return runs


def policy_runs_prune(*, policy: Policy, keep: int = RUNS_KEPT) -> int:
    """Drop the policy's runs older than its latest `keep`; how many went."""
    cutoff = policy.runs.order_by("-ran_at", "-id").values_list("ran_at", flat=True)[
        keep : keep + 1
    ]
    oldest_kept = next(iter(cutoff), None)
    if oldest_kept is None:
        return 0
    deleted, _ = policy.runs.filter(ran_at__lte=oldest_kept).delete()
    return deleted
