from typing import Any

from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "tokenadmin.policies"
    label = "policies"

    def ready(self) -> None:
        # Policies run after each findings run of their realm. Until findings sends a signal
        # of its own, they hook where findings does: Celery's task_postrun of the refresh
        # tasks (and of findings' own task), connected after findings' receiver (this app
        # comes after findings in INSTALLED_APPS), so the findings are fresh when they run.
        from celery.signals import task_postrun

        from .tasks import policies_after_task

        def after(sender: Any = None, **kwargs: Any) -> None:
            policies_after_task(task_name=getattr(sender, "name", ""), **kwargs)

        task_postrun.connect(after, weak=False, dispatch_uid="policies-after-findings")
