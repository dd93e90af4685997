from django.apps import AppConfig


class LifespansConfig(AppConfig):
    name = "tokenadmin.lifespans"
    label = "lifespans"
