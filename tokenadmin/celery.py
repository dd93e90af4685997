import os

from celery import Celery

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
}
