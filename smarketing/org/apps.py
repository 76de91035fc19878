from django.apps import AppConfig


class OrgConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "smarketing.org"
    label = "org"
    verbose_name = "The organisation"
