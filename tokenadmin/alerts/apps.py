from typing import Any

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "tokenadmin.alerts"
    label = "alerts"

    def ready(self) -> None:
        from tokenadmin.findings.signals import findings_ran

        from .tasks import alerts_dispatch_enqueue

        def dispatch(sender: Any = None, realm: str = "", **_: Any) -> None:
            alerts_dispatch_enqueue(realm=realm)

        findings_ran.connect(dispatch, weak=False, dispatch_uid="alerts-dispatch")
