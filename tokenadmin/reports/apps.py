from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "tokenadmin.reports"
    label = "reports"
