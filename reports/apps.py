from django.apps import AppConfig

from leads import hooks as leads
from smarketing.agreement import hooks as agreement


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"

    def ready(self) -> None:
        # What lower apps ask of the reports (smarketing.core.hooks).
        leads.drilldown_lead_ids.connect("reports.metrics.drilldown_lead_ids")
        agreement.version_operations.connect("reports.commitments.version_operations")
        agreement.terms_sections.connect("reports.commitments.terms_sections")
