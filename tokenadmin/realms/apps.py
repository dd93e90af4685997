from django.apps import AppConfig


class RealmsConfig(AppConfig):
    name = "tokenadmin.realms"
    label = "realms"
