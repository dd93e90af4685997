"""The revocations index, bulk previews, realm-wide sign-out, and job progress pages."""

import logging
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from tokenadmin.accounts.gateway import gateway_for
from tokenadmin.accounts.session_tokens import SID, rights_of
from tokenadmin.http import AuthedRequest, forbidden, render_poll, require_right

from . import realmwide
from .bulk import Kind, Plan, Recipe, plan_load, plan_sign
from .forms import BulkStartForm, RealmSignOutForm, RecipeForm
from .jobs import job_counts
from .launch import (
    INLINE_LIMIT,
    revocation_bulk_start,
    revocation_job_retry,
    revocation_plan_prepare,
)
from .models import RevocationItem, RevocationJob
from .outcomes import RevocationRefused
from .recording import is_login_realm
from .selectors import (
    JOB_RIGHT,
    realm_actions_select,
    realm_session_stats_select,
    revocation_jobs_select,
)
from .views_actions import outcome_response, refused_response

logger = logging.getLogger(__name__)

NO_RIGHTS = "Your Keycloak roles include no admin right on any realm."
QUEUE_UNREACHABLE = (
    "The job is recorded, but the task queue is unreachable right now: it will start by "
    "itself once the queue is back. Nothing has been revoked yet."
)
ITEMS_PER_PAGE = 50


@never_cache
@require_GET
def index_page(request: AuthedRequest) -> HttpResponse:
    """Recent jobs, and the realm-wide actions for each realm the admin may act on."""
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, NO_RIGHTS)
    realms = realm_actions_select(admin=gateway_for(request), rights=rights)
    jobs = revocation_jobs_select(rights=rights)
    # ?realm=<name> (the realms page's "Revoke…"): that realm's choices and jobs only.
    only = request.GET.get("realm", "")
    if only and any(r.name == only for r in realms):
        realms = [r for r in realms if r.name == only]
        jobs = jobs.filter(realm=only)
    else:
        only = ""
    jobs = jobs[:20]
    return render(
        request,
        "revocation/index.html",
        {
            "jobs": [(job, job_counts(job)) for job in jobs],
            "realms": realms,
            "only_realm": only,
            "can_revoke": any(r.can["manage_users"] or r.can["manage_realm"] for r in realms),
        },
    )


def _plan(request: AuthedRequest, realm: str, recipe: Recipe) -> Plan:
    return revocation_plan_prepare(
        admin=gateway_for(request),
        realm=realm,
        recipe=recipe,
        user=request.user,
        own_session_id=request.session.get(SID, ""),
    )


@never_cache
@require_http_methods(["GET", "POST"])
@require_right("manage-users")
def bulk_preview(request: AuthedRequest, realm: str) -> HttpResponse:
    """What a recipe or a selection would revoke: count, sample, exclusions, residual risk.

    GET carries a recipe (`?kind=client&client=mlflow`); POST carries ticked sessions from the
    sessions browser (`session` values `<id>` or `<id>:offline`, `kind=selection`).
    """
    params = request.POST if request.method == "POST" else request.GET
    form = RecipeForm(params)
    if not form.is_valid():
        return render(request, "revocation/preview.html", {"realm": realm, "recipe_form": form})
    recipe = form.recipe(query=params.dict(), sessions=params.getlist("session"))
    plan = _plan(request, realm, recipe)
    # A finding's link pre-fills the reason with the finding; the admin may edit it.
    initial = {"plan": plan_sign(plan), "reason": params.get("reason", "")[:2000]}
    start_form = BulkStartForm(initial=initial, realm=realm, plan=plan)
    return _preview(request, realm, plan, start_form)


def _preview(request: AuthedRequest, realm: str, plan: Plan, form: BulkStartForm) -> HttpResponse:
    context = {"realm": realm, "plan": plan, "form": form, "inline_limit": INLINE_LIMIT}
    return render(request, "revocation/preview.html", context)


def _queue_unreachable(request: AuthedRequest) -> Callable[[], None]:
    return lambda: messages.warning(request, QUEUE_UNREACHABLE)


@never_cache
@require_http_methods(["POST"])
@require_right("manage-users")
def bulk_start(request: AuthedRequest, realm: str) -> HttpResponse:
    """Start what the preview showed: its signed plan, a reason, for a realm its name typed."""
    try:
        plan = plan_load(request.POST.get("plan", ""), realm=realm)
    except RevocationRefused as refused:
        return refused_response(request, refused)
    form = BulkStartForm(request.POST, realm=realm, plan=plan)
    if not form.is_valid():
        return _preview(request, realm, plan, form)
    try:
        job = revocation_bulk_start(
            admin=gateway_for(request),
            plan=plan,
            own_session_id=request.session.get(SID, ""),
            actor=request.user,
            reason=form.cleaned_data["reason"],
            ticket=form.cleaned_data["ticket"],
            queue_unreachable=_queue_unreachable(request),
        )
    except RevocationRefused as refused:
        return refused_response(request, refused)
    url = reverse("revocation:job", args=[job.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_http_methods(["GET", "POST"])
@require_right("manage-users")
def realm_sign_out(request: AuthedRequest, realm: str) -> HttpResponse:
    """Everyone in a realm. In the admin's own login realm this becomes a job that spares them."""
    if is_login_realm(realm):
        return redirect(f"{reverse('revocation:bulk-preview', args=[realm])}?kind={Kind.REALM}")
    form = RealmSignOutForm(request.POST or None, realm=realm)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = realmwide.realm_sign_out(
                admin=gateway_for(request),
                realm=realm,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                ticket=form.cleaned_data["ticket"],
            )
        except RevocationRefused as refused:
            return refused_response(request, refused)
        return outcome_response(request, outcome)
    if request.method == "POST" and request.htmx:
        errors = " ".join(str(e) for field_errors in form.errors.values() for e in field_errors)
        return render(request, "revocation/result.html#refused", {"refused": errors})
    stats = realm_session_stats_select(admin=gateway_for(request), realm=realm)
    return render(
        request, "revocation/realm_sign_out.html", {"realm": realm, "form": form, "stats": stats}
    )


def _job_for(request: AuthedRequest, job_id: int) -> RevocationJob:
    """The job, if the admin may view the users of its realm; else 404, as if there were none."""
    rights = rights_of(request.session)
    if not rights.any_right():
        raise PermissionDenied(NO_RIGHTS)
    job = get_object_or_404(RevocationJob, pk=job_id)
    if not rights.can(job.realm, JOB_RIGHT):
        raise Http404("No such job")
    return job


@never_cache
@require_GET
def job_page(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = _job_for(request, job_id)
    return render(
        request,
        "revocation/job.html",
        {"job": job, "counts": job_counts(job), "items": _items_page(request, job)},
    )


@never_cache
@require_GET
def job_progress(request: AuthedRequest, job_id: int) -> HttpResponse:
    """The progress partial, polled every second until the job is done."""
    job = _job_for(request, job_id)
    if not request.htmx:  # opened directly: the job's page, not the bare progress bar
        return redirect("revocation:job", job_id=job.pk)
    context = {"job": job, "counts": job_counts(job)}
    response = render_poll(request, "revocation/job.html#job-progress", context, done=job.is_done)
    if job.is_done:
        trigger_client_event(response, "revocation-job-finished")
    return response


@require_http_methods(["POST"])
def job_retry(request: AuthedRequest, job_id: int) -> HttpResponse:
    """Try a finished job's failed sessions again (as a job: they may be many)."""
    job = _job_for(request, job_id)
    if not rights_of(request.session).can(job.realm, "manage-users"):
        return forbidden(
            request, f"Your Keycloak roles do not include manage-users on {job.realm}."
        )
    revocation_job_retry(
        job=job,
        gateway_factory=lambda: gateway_for(request),
        queue_unreachable=_queue_unreachable(request),
    )
    url = reverse("revocation:job", args=[job.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _items_page(request: AuthedRequest, job: RevocationJob):
    state = request.GET.get("state", "")
    items = job.items.all()
    if state in RevocationItem.State.values:
        items = items.filter(state=state)
    return Paginator(items.order_by("pk"), ITEMS_PER_PAGE).get_page(request.GET.get("page"))


@never_cache
@require_GET
def job_items(request: AuthedRequest, job_id: int) -> HttpResponse:
    job = _job_for(request, job_id)
    if not request.htmx:  # opened directly: the job's page with the same list (state, page)
        query = request.GET.urlencode()
        return redirect(reverse("revocation:job", args=[job.pk]) + (f"?{query}" if query else ""))
    return render(
        request,
        "revocation/job.html#job-items",
        {"job": job, "items": _items_page(request, job), "state": request.GET.get("state", "")},
    )
