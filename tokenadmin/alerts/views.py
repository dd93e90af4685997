"""The alerts pages: transports, rules and deliveries of one realm, or global (superadmins)."""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from tokenadmin.accounts.session_tokens import rights_of
from tokenadmin.http import AuthedRequest, forbidden

from .forms import RuleForm, TransportForm
from .models import Delivery, Rule, Transport
from .selectors import known_realms_select, scope_page_select, scope_transports_select
from .services import (
    AlertsError,
    RuleInput,
    TransportInput,
    rule_delete,
    rule_save,
    transport_delete,
    transport_resume,
    transport_save,
    transport_test_send,
)


def _may(request: AuthedRequest, realm: str, right: str) -> bool:
    rights = rights_of(request.session)
    return rights.is_superadmin if not realm else rights.can(realm, right)


def _scope_url(realm: str) -> str:
    return reverse("alerts:realm", args=[realm]) if realm else reverse("alerts:index")


def _rule_form(realm: str, data: dict | None = None, rule: Rule | None = None) -> RuleForm:
    initial = None
    if rule is not None:
        initial = {
            "transport": rule.transport_id,
            "realm": rule.realm,
            "kind": rule.kind,
            "min_severity": rule.min_severity,
            "mode": rule.mode,
            "digest_every_s": rule.digest_every_s,
        }
    return RuleForm(
        data,
        initial=initial,
        auto_id=f"id_rule{rule.pk}_%s" if rule else "id_%s",
        transports=scope_transports_select(realm=realm),
        realms=known_realms_select(),
        scope=realm,
    )


def _realms_viewable(request: AuthedRequest) -> list[str]:
    rights = rights_of(request.session)
    names = set(known_realms_select()) | set(rights.by_realm)
    return sorted(r for r in names if rights.can(r, "view-users"))


def _scope_page(
    request: AuthedRequest,
    realm: str,
    *,
    transport_form: TransportForm | None = None,
    rule_form: RuleForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rights = rights_of(request.session)
    selected = scope_page_select(realm=realm)
    context = {
        "realm": realm,
        **selected,
        "rule_forms": [(r, _rule_form(realm, rule=r)) for r in selected["rules"]],
        "can_manage": _may(request, realm, "manage-users"),
        "transport_form": transport_form or TransportForm(),
        "rule_form": rule_form or _rule_form(realm),
        "realm_links": [] if realm else _realms_viewable(request),
        "shows_scope": bool(realm) or rights.is_superadmin,
    }
    return render(request, "alerts/scope.html", context, status=status)


@never_cache
@require_GET
def index_page(request: AuthedRequest) -> HttpResponse:
    rights = rights_of(request.session)
    if not rights.any_right():
        return forbidden(request, "Your Keycloak account holds no admin role on any realm.")
    return _scope_page(request, "")


@never_cache
@require_GET
def realm_page(request: AuthedRequest, realm: str) -> HttpResponse:
    if not _may(request, realm, "view-users"):
        return forbidden(request, f"Your Keycloak roles do not include view-users on {realm}.")
    return _scope_page(request, realm)


def _posted_realm(request: AuthedRequest, key: str) -> str | None:
    """The form's realm ("" for global), or None when no realm could be called that."""
    realm = request.POST.get(key, "")
    if len(realm) > 255 or "/" in realm or realm != realm.strip():
        return None
    return realm


def _bad_realm(request: AuthedRequest) -> HttpResponse:
    messages.error(request, "No realm is called that.")
    return redirect("alerts:index")


def _refused(request: AuthedRequest, realm: str) -> HttpResponse:
    if realm:
        return forbidden(request, f"Your Keycloak roles do not include manage-users on {realm}.")
    return forbidden(request, "Only admins with the admin role change global alerts.")


def _transport_input(form: TransportForm, *, kind: str | None = None) -> TransportInput:
    data = form.cleaned_data
    return TransportInput(
        name=data["name"],
        kind=kind or data["kind"],
        recipients=data.get("recipients", ""),
        url=data.get("url", "").strip(),
        secret=data.get("secret", ""),
    )


@sensitive_post_parameters("url", "secret")  # out of Django's error reports
@require_POST
def transport_create_view(request: AuthedRequest) -> HttpResponse:
    realm = _posted_realm(request, "realm")
    if realm is None:
        return _bad_realm(request)
    if not _may(request, realm, "manage-users"):
        return _refused(request, realm)
    form = TransportForm(request.POST)
    if form.is_valid():
        try:
            transport = transport_save(realm=realm, actor=request.user, data=_transport_input(form))
        except AlertsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Transport “{transport.name}” saved.")
            return redirect(_scope_url(realm))
    return _scope_page(request, realm, transport_form=form, status=400)


def _transport_for(request: AuthedRequest, pk: int) -> tuple[Transport, HttpResponse | None]:
    transport = get_object_or_404(Transport, pk=pk)
    if not _may(request, transport.realm, "manage-users"):
        return transport, _refused(request, transport.realm)
    return transport, None


@sensitive_post_parameters("url", "secret")
@require_POST
def transport_change_view(request: AuthedRequest, pk: int) -> HttpResponse:
    transport, refused = _transport_for(request, pk)
    if refused:
        return refused
    form = TransportForm({**request.POST.dict(), "kind": transport.kind})
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Transport not changed: {errors}")
        return redirect(_scope_url(transport.realm))
    try:
        transport_save(
            realm=transport.realm,
            actor=request.user,
            data=_transport_input(form, kind=transport.kind),
            transport=transport,
        )
    except AlertsError as exc:
        messages.error(request, f"Transport not changed: {exc}")
    else:
        messages.success(request, f"Transport “{transport.name}” changed.")
    return redirect(_scope_url(transport.realm))


@require_POST
def transport_delete_view(request: AuthedRequest, pk: int) -> HttpResponse:
    transport, refused = _transport_for(request, pk)
    if refused:
        return refused
    realm, name = transport.realm, transport.name
    transport_delete(transport=transport, actor=request.user)
    messages.success(request, f"Transport “{name}” and its rules deleted.")
    return redirect(_scope_url(realm))


@require_POST
def transport_resume_view(request: AuthedRequest, pk: int) -> HttpResponse:
    transport, refused = _transport_for(request, pk)
    if refused:
        return refused
    waiting = transport_resume(transport=transport, actor=request.user)
    messages.success(
        request,
        f"Transport “{transport.name}” resumed; {len(waiting)} waiting delivery(ies) queued.",
    )
    return redirect(_scope_url(transport.realm))


@require_POST
def transport_test_view(request: AuthedRequest, pk: int) -> HttpResponse:
    transport, refused = _transport_for(request, pk)
    if refused:
        return refused
    delivery = transport_test_send(transport=transport)
    if delivery.state == Delivery.State.DELIVERED:
        code = f" (HTTP {delivery.http_status})" if delivery.http_status else ""
        messages.success(request, f"Test delivered to “{transport.name}”{code}.")
    else:
        again = " It will be tried again." if delivery.state == Delivery.State.PENDING else ""
        messages.error(
            request, f"Test to “{transport.name}” not delivered: {delivery.error}.{again}"
        )
    return redirect(_scope_url(transport.realm))


def _rule_input(form: RuleForm) -> RuleInput:
    data = form.cleaned_data
    return RuleInput(
        realm=data["realm"] or "",
        kind=data["kind"] or "",
        min_severity=data["min_severity"],
        mode=data["mode"],
        digest_every_s=data["digest_every_s"],
    )


@require_POST
def rule_create_view(request: AuthedRequest) -> HttpResponse:
    realm = _posted_realm(request, "scope")
    if realm is None:
        return _bad_realm(request)
    if not _may(request, realm, "manage-users"):
        return _refused(request, realm)
    form = _rule_form(realm, request.POST)
    if form.is_valid():
        try:
            rule_save(
                transport=form.cleaned_data["transport"],
                actor=request.user,
                data=_rule_input(form),
            )
        except AlertsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Rule saved.")
            return redirect(_scope_url(realm))
    return _scope_page(request, realm, rule_form=form, status=400)


@require_POST
def rule_change_view(request: AuthedRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule.objects.select_related("transport"), pk=pk)
    realm = rule.transport.realm
    if not _may(request, realm, "manage-users"):
        return _refused(request, realm)
    form = _rule_form(realm, request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Rule not changed: {errors}")
        return redirect(_scope_url(realm))
    try:
        rule_save(
            transport=form.cleaned_data["transport"],
            actor=request.user,
            data=_rule_input(form),
            rule=rule,
        )
    except AlertsError as exc:
        messages.error(request, f"Rule not changed: {exc}")
    else:
        messages.success(request, "Rule changed.")
    return redirect(_scope_url(realm))


@require_POST
def rule_delete_view(request: AuthedRequest, pk: int) -> HttpResponseRedirect | HttpResponse:
    rule = get_object_or_404(Rule.objects.select_related("transport"), pk=pk)
    realm = rule.transport.realm
    if not _may(request, realm, "manage-users"):
        return _refused(request, realm)
    rule_delete(rule=rule, actor=request.user)
    messages.success(request, "Rule deleted.")
    return redirect(_scope_url(realm))
