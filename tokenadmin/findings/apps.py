from typing import Any

from django.apps import AppConfig


class FindingsConfig(AppConfig):
    name = "tokenadmin.findings"
    label = "findings"

    def ready(self) -> None:
        # The checks run in the refresh's own worker task chain, right after a refresh task
        # ends, so sessionindex needs no knowledge of findings (no import circle).
        from celery.signals import task_postrun

        from .tasks import findings_after_refresh

        def after(sender: Any = None, **kwargs: Any) -> None:
            findings_after_refresh(task_name=getattr(sender, "name", ""), **kwargs)

        task_postrun.connect(after, weak=False, dispatch_uid="findings-after-refresh")
