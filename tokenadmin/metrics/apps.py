from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "tokenadmin.metrics"
    label = "metrics"
