from django.apps import AppConfig

from smarketing.ops import signals


class OpsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "smarketing.ops"
    label = "ops"
    verbose_name = "Watching it run"

    def ready(self) -> None:
        signals.connect()
