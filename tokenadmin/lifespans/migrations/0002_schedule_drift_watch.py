"""Beat runs the drift watch every 15 minutes (a DatabaseScheduler PeriodicTask)."""

from django.db import migrations

TASK_NAME = "lifespans: drift watch"
TASK = "tokenadmin.lifespans.tasks.lifespans_drift_watch_task"


def schedule_add(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={"task": TASK, "interval": every, "enabled": True, "expire_seconds": 840},
    )


def schedule_remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("lifespans", "0001_create_lifespan_snapshot"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_add, schedule_remove)]
