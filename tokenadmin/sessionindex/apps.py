from django.apps import AppConfig


class SessionIndexConfig(AppConfig):
    # Not "sessions": that label belongs to django.contrib.sessions.
    name = "tokenadmin.sessionindex"
    label = "sessionindex"
    verbose_name = "Session index"
