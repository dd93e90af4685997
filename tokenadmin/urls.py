from django.urls import include, path

from tokenadmin.api.api import api
from tokenadmin.cli import server as cli_server
from tokenadmin.core import views as core_views
from tokenadmin.metrics import views as metrics_views

urlpatterns = [
    path("health", core_views.health, name="health"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("accounts/", include("tokenadmin.accounts.urls")),
    path("realms/", include("tokenadmin.realms.urls")),
    path("ledger/", include("tokenadmin.ledger.urls")),
    path("sessions/", include("tokenadmin.sessionindex.urls")),
    path("revocations/", include("tokenadmin.revocation.urls")),
    path("lifespans/", include("tokenadmin.lifespans.urls")),
    path("reports/", include("tokenadmin.reports.urls")),
    path("findings/", include("tokenadmin.findings.urls")),
    path("alerts/", include("tokenadmin.alerts.urls")),
    path("policies/", include("tokenadmin.policies.urls")),
    path("history/", include("tokenadmin.history.urls")),
    path("api/v1/", api.urls),
    path("cli.json", cli_server.cli_config, name="cli-config"),
    path("", core_views.home, name="home"),
]

handler403 = "tokenadmin.core.views.permission_denied"
handler404 = "tokenadmin.core.views.page_not_found"
handler500 = "tokenadmin.core.views.server_error"
