"""Who may GET and who may POST every URL tokenadmin routes (the demo's included).

test_rights_matrix.py runs every entry as each kind of user against the emulator, and fails
when a URL pattern has no entry here: a new page must say who may use it.

Users: ANONYMOUS (not signed in), "outsider" (no admin role), "viewer" (view-realm, view-users
and view-clients on mlflow), "realmviewer" (view-realm only on mlflow), "operator" (view and
manage on mlflow) and "admin" (master's admin). Every realm URL is tried on realm mlflow.

An entry's `get`/`post` is the set of users who get through; every other signed-in user must be
refused by tokenadmin itself (403, or 404 "as if there were none"), the anonymous one sent to
log in (unless the URL is public). None means the method is not allowed (405). `no_store`: a
page that shows sessions or user data must not be kept by a browser or proxy.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEMO_URLCONF = "tokenadmin.demo.root_urls"  # the product's URLs and the demo's: all of them

ANONYMOUS = "anonymous"
OUTSIDER = "outsider"
VIEWER = "viewer"
REALM_VIEWER = "realmviewer"
OPERATOR = "operator"
ADMIN = "admin"
USERS = (ANONYMOUS, OUTSIDER, VIEWER, REALM_VIEWER, OPERATOR, ADMIN)

NOBODY: frozenset[str] = frozenset()
SIGNED_IN = frozenset({OUTSIDER, VIEWER, REALM_VIEWER, OPERATOR, ADMIN})
EVERYONE = SIGNED_IN | {ANONYMOUS}
ANY_RIGHT = frozenset({VIEWER, REALM_VIEWER, OPERATOR, ADMIN})  # some admin right somewhere
VIEW_REALM = ANY_RIGHT  # view-realm on mlflow
VIEW_USERS = frozenset({VIEWER, OPERATOR, ADMIN})  # view-users on mlflow
VIEW_CLIENTS = VIEW_USERS  # view-clients on mlflow
MANAGE = frozenset({OPERATOR, ADMIN})  # manage-users / -realm / -clients on mlflow


@dataclass(frozen=True)
class Rule:
    # The URL's arguments, from the objects the test world holds (see World in the test).
    args: Callable[[Any], list] = field(default=lambda w: [])
    get: frozenset[str] | None = None
    post: frozenset[str] | None = None
    no_store: bool = False
    # Query string or form data to send (e.g. a search); may name the world's objects.
    data: Callable[[Any], dict] = field(default=lambda w: {})
    # Ends the signed-in session: tried after every other entry.
    signs_out: bool = False
    # Open without signing in (the way in, health): the anonymous user is answered like others.
    public: bool = False


def _realm(w: Any) -> list:
    return ["mlflow"]


def _policy(w: Any) -> list:
    return ["mlflow", w.policy_id]


def _job(w: Any) -> list:
    return [w.job_id]


# The API (tokenadmin/api) answers for itself, a 401 problem document rather than a login
# redirect: public here, its 401 counted as "refused". The bodies sent here are form data, so
# an allowed POST gets a 400 (which counts as getting through).
RIGHTS: dict[str, Rule] = {
    # --- the way in, and health ------------------------------------------------------------
    "health": Rule(get=EVERYONE, post=EVERYONE, public=True),
    "oidc_authentication_init": Rule(get=EVERYONE, post=None, public=True),
    # An "error" from Keycloak signs the admin out.
    "oidc_authentication_callback": Rule(get=EVERYONE, post=None, public=True, signs_out=True),
    "oidc_logout": Rule(get=None, post=EVERYONE, public=True, signs_out=True),
    "accounts:signed-out": Rule(get=EVERYONE, post=EVERYONE, public=True),
    "accounts:login-failed": Rule(get=EVERYONE, post=EVERYONE, public=True),
    "home": Rule(get=SIGNED_IN, post=None),
    # Off unless METRICS_ENABLED (404 for everyone); then a bearer token or an allowed
    # address, not a login (tests/metrics/test_metrics_access.py).
    "metrics": Rule(get=NOBODY, post=None, public=True),
    # The command line's sign-in facts (Keycloak's public URL, realm, client id): public.
    "cli-config": Rule(get=EVERYONE, post=None, public=True),
    # --- realms and the ledger -------------------------------------------------------------
    "realms:list": Rule(get=ANY_RIGHT, post=None),
    "ledger:index": Rule(get=ANY_RIGHT, post=None, no_store=True),
    "ledger:csv": Rule(get=ANY_RIGHT, post=None, no_store=True),
    # --- sessions (the local index) and the live user and client pages ---------------------
    "sessions:index": Rule(get=VIEW_USERS, post=None, no_store=True),
    "sessions:realm": Rule(args=_realm, get=VIEW_USERS, post=None, no_store=True),
    "sessions:csv": Rule(args=_realm, get=VIEW_USERS, post=None, no_store=True),
    # --- history (#20) ---------------------------------------------------------------------
    "history:realm": Rule(args=_realm, get=VIEW_USERS, post=None, no_store=True),
    "sessions:saved-view-create": Rule(
        args=_realm, get=None, post=VIEW_USERS, no_store=True, data=lambda w: {"name": "mine"}
    ),
    "sessions:saved-view-delete": Rule(
        args=lambda w: ["mlflow", w.spare_view_id], get=None, post=MANAGE, no_store=True
    ),
    "sessions:refresh-now": Rule(args=_realm, get=None, post=VIEW_USERS),
    "sessions:refresh-progress": Rule(args=_realm, get=VIEW_USERS, post=None),
    "sessions:user": Rule(
        args=lambda w: ["mlflow", w.user_id], get=VIEW_USERS, post=None, no_store=True
    ),
    "sessions:client": Rule(
        args=lambda w: ["mlflow", w.client_uuid], get=VIEW_USERS, post=None, no_store=True
    ),
    # --- the API (tokenadmin/api) ----------------------------------------------------------
    # Read-only documents that answer any method alike.
    "api:api-root": Rule(get=EVERYONE, post=EVERYONE, public=True),
    "api:openapi-json": Rule(get=EVERYONE, post=EVERYONE, public=True),
    "api:realms_list": Rule(get=ANY_RIGHT, post=None, public=True, no_store=True),
    "api:sessions_list": Rule(args=_realm, get=VIEW_USERS, post=None, public=True, no_store=True),
    "api:user_sessions": Rule(
        args=lambda w: ["mlflow", w.user_id], get=VIEW_USERS, post=None, public=True, no_store=True
    ),
    "api:client_sessions": Rule(
        args=lambda w: ["mlflow", w.client_uuid],
        get=VIEW_USERS,
        post=None,
        public=True,
        no_store=True,
    ),
    "api:ledger_list": Rule(get=ANY_RIGHT, post=None, public=True, no_store=True),
    "api:reports_list": Rule(get=ANY_RIGHT, post=None, public=True, no_store=True),
    # One path, named twice by django-ninja (runs: GET lists them, POST runs the report now).
    "api:report_run": Rule(
        args=lambda w: [w.report_id], get=VIEW_USERS, post=VIEW_USERS, public=True, no_store=True
    ),
    "api:report_runs": Rule(
        args=lambda w: [w.report_id], get=VIEW_USERS, post=VIEW_USERS, public=True, no_store=True
    ),
    "api:plan_create": Rule(args=_realm, get=None, post=MANAGE, public=True, no_store=True),
    "api:plan_apply": Rule(args=_realm, get=None, post=MANAGE, public=True, no_store=True),
    "api:job_get": Rule(args=_job, get=VIEW_USERS, post=None, public=True, no_store=True),
    # PUT (manage-realm) is tried in tests/api.
    # One path, named twice by django-ninja (a GET and a PUT operation).
    "api:lifespans_get": Rule(args=_realm, get=VIEW_REALM, post=None, public=True, no_store=True),
    "api:lifespans_put": Rule(args=_realm, get=VIEW_REALM, post=None, public=True, no_store=True),
    "api:job_items": Rule(args=_job, get=VIEW_USERS, post=None, public=True, no_store=True),
    # --- revocation --------------------------------------------------------------------------
    "revocation:index": Rule(get=ANY_RIGHT, post=None, no_store=True),
    "revocation:job": Rule(args=lambda w: [w.job_id], get=VIEW_USERS, post=None, no_store=True),
    "revocation:job-progress": Rule(
        args=lambda w: [w.job_id], get=VIEW_USERS, post=None, no_store=True
    ),
    "revocation:job-items": Rule(
        args=lambda w: [w.job_id], get=VIEW_USERS, post=None, no_store=True
    ),
    "revocation:job-retry": Rule(args=lambda w: [w.job_id], get=None, post=MANAGE),
    "revocation:bulk-preview": Rule(
        args=_realm,
        get=MANAGE,
        post=MANAGE,
        no_store=True,
        data=lambda w: {"kind": "client", "client": "mlflow"},
    ),
    "revocation:bulk-start": Rule(args=_realm, get=None, post=MANAGE, no_store=True),
    "revocation:realm-sign-out": Rule(args=_realm, get=MANAGE, post=MANAGE),
    "revocation:realm-not-before": Rule(args=_realm, get=None, post=MANAGE),
    "revocation:realm-push": Rule(args=_realm, get=None, post=MANAGE),
    "revocation:user-find": Rule(
        args=_realm, get=VIEW_USERS, post=None, no_store=True, data=lambda w: {"q": "ml"}
    ),
    "revocation:user": Rule(
        args=lambda w: ["mlflow", w.user_id], get=VIEW_USERS, post=None, no_store=True
    ),
    "revocation:revoke-session": Rule(
        args=lambda w: ["mlflow", w.user_id, w.session_id], get=None, post=MANAGE
    ),
    "revocation:revoke-offline-session": Rule(
        args=lambda w: ["mlflow", w.user_id, w.session_id], get=None, post=MANAGE
    ),
    "revocation:revoke-consent": Rule(
        args=lambda w: ["mlflow", w.user_id, "mlflow"], get=None, post=MANAGE
    ),
    "revocation:sign-out-user": Rule(args=lambda w: ["mlflow", w.user_id], get=None, post=MANAGE),
    "revocation:client-find": Rule(
        args=_realm, get=VIEW_CLIENTS, post=None, data=lambda w: {"client": "mlflow"}
    ),
    "revocation:client": Rule(args=lambda w: ["mlflow", "mlflow"], get=VIEW_CLIENTS, post=None),
    "revocation:client-not-before": Rule(
        args=lambda w: ["mlflow", "mlflow"], get=None, post=MANAGE
    ),
    "revocation:client-push": Rule(args=lambda w: ["mlflow", "mlflow"], get=None, post=MANAGE),
    # --- lifespans ---------------------------------------------------------------------------
    "lifespans:index": Rule(get=ANY_RIGHT, post=None),
    "lifespans:realm": Rule(args=_realm, get=VIEW_REALM, post=None),
    "lifespans:save": Rule(args=_realm, get=None, post=MANAGE),
    "lifespans:rollback": Rule(args=lambda w: ["mlflow", w.snapshot_id], get=MANAGE, post=None),
    "lifespans:clients": Rule(args=_realm, get=VIEW_REALM & VIEW_CLIENTS, post=None),
    "lifespans:client-edit": Rule(
        args=lambda w: ["mlflow", w.client_uuid], get=MANAGE, post=MANAGE
    ),
    "lifespans:job-survival": Rule(args=_realm, get=VIEW_REALM & VIEW_CLIENTS, post=None),
    # --- reports (a report on mlflow: view-users on mlflow) ----------------------------------
    # --- findings ------------------------------------------------------------------------
    "findings:index": Rule(get=ANY_RIGHT, post=None),
    "findings:realm": Rule(args=_realm, get=VIEW_USERS, post=None, no_store=True),
    # Before run: a run closes the world's finding (its sessions are not in the index).
    "findings:mute": Rule(args=lambda w: ["mlflow", w.finding_id], get=None, post=MANAGE),
    "findings:run": Rule(args=_realm, get=None, post=MANAGE),
    "findings:thresholds": Rule(args=_realm, get=None, post=MANAGE),
    # --- alerts (a realm's own on mlflow: manage-users; global ones: the admin role) -----------
    "alerts:index": Rule(get=ANY_RIGHT, post=None, no_store=True),
    "alerts:realm": Rule(args=_realm, get=VIEW_USERS, post=None, no_store=True),
    "alerts:transport-create": Rule(get=None, post=MANAGE, data=lambda w: {"realm": "mlflow"}),
    "alerts:transport-change": Rule(args=lambda w: [w.transport_id], get=None, post=MANAGE),
    "alerts:transport-test": Rule(args=lambda w: [w.transport_id], get=None, post=MANAGE),
    "alerts:transport-resume": Rule(args=lambda w: [w.transport_id], get=None, post=MANAGE),
    "alerts:rule-create": Rule(get=None, post=MANAGE, data=lambda w: {"scope": "mlflow"}),
    "alerts:rule-change": Rule(args=lambda w: [w.rule_id], get=None, post=MANAGE),
    "alerts:rule-delete": Rule(args=lambda w: [w.rule_id], get=None, post=MANAGE),
    "alerts:transport-delete": Rule(args=lambda w: [w.spare_transport_id], get=None, post=MANAGE),
    # --- revocation policies (a dry-run policy on mlflow; nothing here switches it on) -------
    "policies:index": Rule(get=ANY_RIGHT, post=None),
    "policies:realm": Rule(args=_realm, get=VIEW_USERS, post=None, no_store=True),
    "policies:create": Rule(args=_realm, get=MANAGE, post=MANAGE),
    "policies:detail": Rule(args=_policy, get=VIEW_USERS, post=None, no_store=True),
    "policies:edit": Rule(args=_policy, get=MANAGE, post=MANAGE),
    "policies:run-now": Rule(args=_policy, get=None, post=MANAGE),
    "policies:enforce": Rule(args=_policy, get=None, post=MANAGE),
    "policies:dry-run": Rule(args=_policy, get=None, post=MANAGE),
    "policies:run": Rule(
        args=lambda w: ["mlflow", w.policy_id, w.policy_run_id],
        get=VIEW_USERS,
        post=None,
        no_store=True,
    ),
    "reports:index": Rule(get=ANY_RIGHT, post=None),
    "reports:create": Rule(get=ANY_RIGHT, post=ANY_RIGHT),
    "reports:detail": Rule(args=lambda w: [w.report_id], get=VIEW_USERS, post=None, no_store=True),
    "reports:edit": Rule(args=lambda w: [w.report_id], get=VIEW_USERS, post=VIEW_USERS),
    "reports:send-now": Rule(args=lambda w: [w.report_id], get=None, post=VIEW_USERS),
    "reports:delete": Rule(args=lambda w: [w.spare_report_id], get=None, post=VIEW_USERS),
    "reports:preview": Rule(args=lambda w: [w.report_id], get=VIEW_USERS, post=None, no_store=True),
    "reports:csv": Rule(args=lambda w: [w.report_id], get=VIEW_USERS, post=None, no_store=True),
    "reports:preview-email": Rule(
        args=lambda w: [w.report_id], get=VIEW_USERS, post=None, no_store=True
    ),
    # --- the demo's mailbox (its URLs exist only while the demo runs) -------------------------
    "demo:mailbox": Rule(get=ANY_RIGHT, post=None, no_store=True),
    "demo:mail": Rule(args=lambda w: [w.mail_name], get=VIEW_USERS, post=None, no_store=True),
    "demo:mail-html": Rule(args=lambda w: [w.mail_name], get=VIEW_USERS, post=None, no_store=True),
    "demo:mail-attachment": Rule(
        args=lambda w: [w.mail_name, 0], get=VIEW_USERS, post=None, no_store=True
    ),
}
