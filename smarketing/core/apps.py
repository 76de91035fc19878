from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "smarketing.core"
    label = "core"
    verbose_name = "The shared kernel"
