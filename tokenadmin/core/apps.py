from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tokenadmin.core"
    label = "core"
