from typing import Any

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "tokenadmin.reports"
    label = "reports"

    def ready(self) -> None:
        # Plumbing, not business logic: beat is the publisher of scheduled runs, and only the
        # publisher knows the tick time; the message carries it to whichever worker runs it.
        from celery.signals import before_task_publish
        from django.utils import timezone

        from .schedule import tick_stamp

        def stamp(sender: str | None = None, headers: dict | None = None, **_: Any) -> None:
            tick_stamp(headers, sender=sender, now=timezone.now())

        before_task_publish.connect(stamp, weak=False, dispatch_uid="reports-tick-stamp")
