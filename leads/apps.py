from django.apps import AppConfig

from sla import hooks as sla
from smarketing.agreement import hooks as agreement


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"
    verbose_name = "The funnel"

    def ready(self) -> None:
        # What lower apps ask of the funnel (smarketing.core.hooks).
        sla.breach_reassign.connect("leads.services.lead_sla_reassign")
        sla.breach_return.connect("leads.services.lead_return_to_marketing")
        agreement.scoring_changed.connect("leads.scoring.rescore_after_commit")
