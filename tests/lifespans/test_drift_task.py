"""The drift watch as beat runs it: a real Celery worker against the emulator."""

from django_celery_beat.models import PeriodicTask

from tokenadmin.lifespans.models import LifespanSnapshot
from tokenadmin.lifespans.tasks import lifespans_drift_watch_task


def test_beat_runs_the_drift_watch_every_15_minutes(db):
    task = PeriodicTask.objects.get(task="tokenadmin.lifespans.tasks.lifespans_drift_watch_task")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (15, "minutes")


def test_the_worker_records_a_baseline_then_the_outside_change(celery_worker, kc):
    lifespans_drift_watch_task.delay().get(timeout=30)
    assert LifespanSnapshot.objects.filter(realm="mlflow", kind="approved").count() == 1
    admin = kc.admin()
    admin.update_realm("mlflow", {**admin.get_realm("mlflow"), "accessTokenLifespan": 120})
    result = lifespans_drift_watch_task.delay().get(timeout=30)
    assert result["mlflow"] is True
    assert result["master"] is False
    drift = LifespanSnapshot.objects.get(realm="mlflow", kind="drift")
    assert drift.values["accessTokenLifespan"] == 120
    assert drift.previous_values["accessTokenLifespan"] == 300
    # A second tick with nothing new records nothing twice.
    lifespans_drift_watch_task.delay().get(timeout=30)
    assert LifespanSnapshot.objects.filter(realm="mlflow", kind="drift").count() == 1
