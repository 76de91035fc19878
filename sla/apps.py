from django.apps import AppConfig

from smarketing.agreement import hooks as agreement


class SlaConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        # The parts of the agreement that the SLA keeps (smarketing.core.hooks).
        agreement.version_operations.connect("sla.policies.version_operations")
        agreement.terms_sections.connect("sla.terms.terms_sections")
