from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tokenadmin.accounts"
    label = "accounts"
