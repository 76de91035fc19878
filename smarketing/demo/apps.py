from django.apps import AppConfig


class DemoConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "smarketing.demo"
    label = "demo"
    verbose_name = "The demo organisation"
