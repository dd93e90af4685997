"""Reads for the policies pages."""

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery

from tokenadmin.sessionindex.models import RealmIndex

from .models import Mode, Policy, PolicyRun

RUNS_SHOWN = 30


@dataclass(frozen=True)
class RealmPolicies:
    realm: str
    policies: int
    enforcing: int


def realms_policies_select(*, realms_allowed: set[str] | None = None) -> list[RealmPolicies]:
    """Every indexed realm (and any realm holding a policy) with its count of policies."""
    names = set(RealmIndex.objects.values_list("realm", flat=True))
    counts = {
        realm: (n, enforcing)
        for realm, n, enforcing in Policy.objects.values("realm")
        .annotate(n=Count("id"), enforcing=Count("id", filter=Q(mode=Mode.ENFORCE)))
        .values_list("realm", "n", "enforcing")
    }
    names |= set(counts)
    if realms_allowed is not None:
        names &= realms_allowed
    return [
        RealmPolicies(
            realm=name, policies=counts.get(name, (0, 0))[0], enforcing=counts.get(name, (0, 0))[1]
        )
        for name in sorted(names)
    ]


@dataclass(frozen=True)
class PolicyRow:
    policy: Policy
    last_run: PolicyRun | None


def realm_policies_select(*, realm: str) -> list[PolicyRow]:
    """The realm's policies by name, each with its latest run (two queries)."""
    newest = PolicyRun.objects.filter(policy=OuterRef("pk")).order_by("-ran_at", "-id")
    policies = list(
        Policy.objects.filter(realm=realm)
        .annotate(last_run_id=Subquery(newest.values("id")[:1]))
        .order_by("name", "id")
    )
    wanted = [p.last_run_id for p in policies if p.last_run_id]
    runs = {r.pk: r for r in PolicyRun.objects.filter(pk__in=wanted).defer("targets", "sample")}
    return [PolicyRow(policy=p, last_run=runs.get(p.last_run_id)) for p in policies]


def policy_runs_select(*, policy: Policy) -> list[PolicyRun]:
    """The policy's latest runs, newest first, with their sample (not their full list)."""
    return list(policy.runs.defer("targets").select_related("job")[:RUNS_SHOWN])
