"""Reads for the index's freshness, the running refresh and the next scheduled one."""

from datetime import datetime, timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from .models import RealmIndex

REFRESH_ALL_TASK = "tokenadmin.sessionindex.tasks.realm_index_refresh_all_task"


def realm_index_get(*, realm: str) -> RealmIndex | None:
    """The realm's freshness row, or None if it was never refreshed nor claimed."""
    return RealmIndex.objects.filter(realm=realm).first()


def index_refresh_next_at() -> datetime | None:
    """When the scheduled refresh of every realm runs next (beat's last run plus its interval,
    now if overdue), or None when beat has not scheduled it (no beat has run)."""
    task = (
        PeriodicTask.objects.filter(task=REFRESH_ALL_TASK, enabled=True, interval__isnull=False)
        .select_related("interval")
        .first()
    )
    if task is None:
        return None
    every = timedelta(seconds=task.interval.schedule.run_every.total_seconds())
    last = task.last_run_at or task.start_time or task.date_changed
    now = timezone.now()
    return max(last + every, now) if last else now
