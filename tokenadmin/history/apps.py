from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "tokenadmin.history"
    label = "history"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to the index's refresh signal)
