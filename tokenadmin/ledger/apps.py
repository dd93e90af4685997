from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "tokenadmin.ledger"
    label = "ledger"
