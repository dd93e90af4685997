import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokenadmin.settings")

app = Celery("tokenadmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # The session index: nothing in it outlives a Keycloak session by more than one refresh.
    "session-index-refresh-all": {
        "task": "tokenadmin.sessionindex.tasks.realm_index_refresh_all_task",
        "schedule": 300.0,
        # A tick that waits longer than its interval is superseded by the next one.
        "options": {"expires": 290},
    },
    # History: refresh points become hourly, then daily means (history/record.py).
    "history-downsample": {
        "task": "tokenadmin.history.tasks.history_downsample_task",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    # The sweepers: work the database holds as waiting whose task the queue lost (Redis down
    # when it was queued, a worker killed holding it) is queued again.
    "revocation-jobs-sweep": {
        "task": "tokenadmin.revocation.tasks.revocation_jobs_sweep_task",
        "schedule": float(settings.QUEUE_SWEEP_EVERY_S),
        "options": {"expires": settings.QUEUE_SWEEP_EVERY_S},
    },
    # Alerts: digests whose interval passed, and deliveries whose task was lost.
    "alerts-tick": {
        "task": "tokenadmin.alerts.tasks.alerts_tick_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "report-runs-sweep": {
        "task": "tokenadmin.reports.tasks.report_runs_sweep_task",
        "schedule": float(settings.QUEUE_SWEEP_EVERY_S),
        "options": {"expires": settings.QUEUE_SWEEP_EVERY_S},
    },
}
