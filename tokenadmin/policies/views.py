from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tokenadmin.accounts.session_tokens import SID, rights_of
from tokenadmin.http import AuthedRequest, forbidden, require_right
from tokenadmin.keycloak import GatewayError

from .forms import EnforceForm, PolicyForm
from .models import Policy, PolicyRun
from .runs import policy_run
from .selectors import policy_runs_select, realm_policies_select, realms_policies_select
from .services import PolicyError, policy_dry_run_set, policy_enforce, policy_save


@require_GET
def index_page(request: AuthedRequest) -> HttpResponse:
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, "Your Keycloak account holds no admin role on any realm.")
    rows = [r for r in realms_policies_select() if rights.can(r.realm, "view-users")]
    return render(request, "policies/index.html", {"rows": rows})


@never_cache
@require_GET
@require_right("view-users")
def realm_page(request: AuthedRequest, realm: str) -> HttpResponse:
    context = {
        "realm": realm,
        "rows": realm_policies_select(realm=realm),
        "can_manage": rights_of(request.session).can(realm, "manage-users"),
    }
    return render(request, "policies/realm.html", context)


def _policy(realm: str, policy_id: int) -> Policy:
    return get_object_or_404(
        Policy.objects.select_related("enforced_by"), pk=policy_id, realm=realm
    )


def _edit(request: AuthedRequest, realm: str, policy: Policy) -> HttpResponse:
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            saved = policy_save(policy=form.instance, actor=request.user)
        except PolicyError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Policy “{saved.name}” saved.")
            return redirect("policies:detail", realm=realm, policy_id=saved.pk)
    status = 400 if form.errors else 200
    context = {"realm": realm, "form": form, "policy": policy}
    return render(request, "policies/edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
@require_right("manage-users")
def create_page(request: AuthedRequest, realm: str) -> HttpResponse:
    return _edit(request, realm, Policy(realm=realm))


@require_http_methods(["GET", "POST"])
@require_right("manage-users")
def edit_page(request: AuthedRequest, realm: str, policy_id: int) -> HttpResponse:
    return _edit(request, realm, _policy(realm, policy_id))


def _detail(
    request: AuthedRequest, realm: str, policy: Policy, *, enforce_form: EnforceForm | None = None
) -> HttpResponse:
    context = {
        "realm": realm,
        "policy": policy,
        "runs": policy_runs_select(policy=policy),
        "enforce_form": enforce_form or EnforceForm(),
        "can_manage": rights_of(request.session).can(realm, "manage-users"),
    }
    status = 400 if enforce_form is not None and enforce_form.errors else 200
    return render(request, "policies/detail.html", context, status=status)


@never_cache
@require_GET
@require_right("view-users")
def detail_page(request: AuthedRequest, realm: str, policy_id: int) -> HttpResponse:
    return _detail(request, realm, _policy(realm, policy_id))


@never_cache
@require_GET
@require_right("view-users")
def run_page(request: AuthedRequest, realm: str, policy_id: int, run_id: int) -> HttpResponse:
    policy = _policy(realm, policy_id)
    run = get_object_or_404(PolicyRun.objects.select_related("job"), pk=run_id, policy=policy)
    return render(request, "policies/run.html", {"realm": realm, "policy": policy, "run": run})


@require_POST
@require_right("manage-users")
def run_now(request: AuthedRequest, realm: str, policy_id: int) -> HttpResponse:
    policy = _policy(realm, policy_id)
    try:
        run = policy_run(policy=policy, trigger=f"run now by {request.user.username}")
    except GatewayError as exc:
        messages.error(request, f"Keycloak did not answer ({exc}); nothing was revoked.")
        return redirect("policies:detail", realm=realm, policy_id=policy.pk)
    messages.success(request, f"Policy ran: {run.get_outcome_display()} ({run.count} sessions).")
    return redirect("policies:run", realm=realm, policy_id=policy.pk, run_id=run.pk)


@require_POST
@require_right("manage-users")
def enforce(request: AuthedRequest, realm: str, policy_id: int) -> HttpResponse:
    policy = _policy(realm, policy_id)
    form = EnforceForm(request.POST)
    if form.is_valid():
        try:
            policy_enforce(
                policy=policy,
                actor=request.user,
                own_session_id=request.session.get(SID, ""),
                typed_realm=form.cleaned_data["confirm_realm"],
            )
        except PolicyError as exc:
            form.add_error("confirm_realm", str(exc))
    if form.errors:
        return _detail(request, realm, policy, enforce_form=form)
    messages.success(
        request, f"Policy “{policy.name}” now enforces: its next run revokes what it finds."
    )
    return redirect("policies:detail", realm=realm, policy_id=policy.pk)


@require_POST
@require_right("manage-users")
def dry_run(request: AuthedRequest, realm: str, policy_id: int) -> HttpResponse:
    policy = _policy(realm, policy_id)
    try:
        policy_dry_run_set(policy=policy, actor=request.user)
    except PolicyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Policy “{policy.name}” is a dry run again: it revokes nothing.")
    return redirect("policies:detail", realm=realm, policy_id=policy.pk)
