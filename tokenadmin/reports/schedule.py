"""Report schedules in django-celery-beat, and the schedule slot a beat tick stands for.

Each report owns one PeriodicTask (task SCHEDULED_TASK, args [report id]). Beat stamps the tick
time into the message it publishes (header TICK_HEADER), so a redelivered message or a retry
still names the slot beat meant, however late a worker picks it up.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

SCHEDULED_TASK = "tokenadmin.reports.tasks.expiry_report_scheduled_task"
TICK_HEADER = "tokenadmin_tick_at"
INTERVAL = "interval"
CRONTAB = "crontab"
PERIOD_S = {
    IntervalSchedule.DAYS: 86400,
    IntervalSchedule.HOURS: 3600,
    IntervalSchedule.MINUTES: 60,
    IntervalSchedule.SECONDS: 1,
}


@dataclass(frozen=True)
class Schedule:
    """What the report form edits: an interval (every N periods) or a crontab."""

    kind: str = INTERVAL
    every: int = 1
    period: str = IntervalSchedule.DAYS
    minute: str = "0"
    hour: str = "7"
    day_of_week: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"

    @classmethod
    def of(cls, task: PeriodicTask | None) -> "Schedule":
        if task is None:
            return cls()
        if task.crontab_id:
            c = task.crontab
            return cls(
                kind=CRONTAB,
                minute=c.minute,
                hour=c.hour,
                day_of_week=c.day_of_week,
                day_of_month=c.day_of_month,
                month_of_year=c.month_of_year,
            )
        if task.interval_id:
            return cls(kind=INTERVAL, every=task.interval.every, period=task.interval.period)
        return cls()

    def as_dict(self) -> dict[str, Any]:
        if self.kind == INTERVAL:
            return {"kind": INTERVAL, "every": self.every, "period": self.period}
        return {
            "kind": CRONTAB,
            "minute": self.minute,
            "hour": self.hour,
            "day_of_week": self.day_of_week,
            "day_of_month": self.day_of_month,
            "month_of_year": self.month_of_year,
        }

    @property
    def period_s(self) -> int:
        """Slot width: the interval, or one minute for a crontab (its finest step)."""
        if self.kind == INTERVAL:
            return max(1, self.every * PERIOD_S.get(self.period, 1))
        return 60

    def text(self) -> str:
        if self.kind == INTERVAL:
            unit = self.period[:-1] if self.every == 1 else self.period
            return f"every {self.every} {unit}" if self.every != 1 else f"every {unit}"
        fields = (self.minute, self.hour, self.day_of_month, self.month_of_year, self.day_of_week)
        return "cron " + " ".join(fields) + " (UTC)"


def schedule_describe(task: PeriodicTask | None) -> str | None:
    return Schedule.of(task).text() if task is not None else None


def periodic_task_sync(
    *, task: PeriodicTask | None, report_id: int, name: str, schedule: Schedule, enabled: bool
) -> PeriodicTask:
    """Create or update the report's PeriodicTask so beat runs it on `schedule`."""
    if schedule.kind == INTERVAL:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.every, period=schedule.period
        )
        crontab = None
    else:
        interval = None
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=schedule.minute,
            hour=schedule.hour,
            day_of_week=schedule.day_of_week,
            day_of_month=schedule.day_of_month,
            month_of_year=schedule.month_of_year,
            timezone="UTC",
        )
    task = task or PeriodicTask(task=SCHEDULED_TASK)
    task.name = f"expiry report {report_id}: {name}"[:200]
    task.task = SCHEDULED_TASK
    task.args = json.dumps([report_id])
    task.kwargs = "{}"
    task.interval = interval
    task.crontab = crontab
    task.enabled = enabled
    task.save()
    return task


def tick_stamp(headers: dict[str, Any] | None, *, sender: str | None, now: datetime) -> None:
    """Write the publish time into a scheduled-report message that has none yet."""
    if sender == SCHEDULED_TASK and headers is not None and TICK_HEADER not in headers:
        headers[TICK_HEADER] = now.isoformat()


def slot_of(*, tick_at: datetime, schedule: Schedule) -> datetime:
    """The tick truncated to the schedule's period (UTC epoch buckets).

    Beat fires at or after a due time, so two genuine ticks are at least one period apart and
    land in different buckets; a duplicate tick of the same due time lands in the same one.
    """
    width = schedule.period_s
    epoch = int(tick_at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % width, tz=UTC) + timedelta(0)
