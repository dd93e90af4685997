from django.apps import AppConfig


class RevocationConfig(AppConfig):
    name = "tokenadmin.revocation"
    label = "revocation"
