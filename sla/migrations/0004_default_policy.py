"""The default SLA policy, from the settings the product started with; clocks that already
warned under the single-warning scheme keep that warning as their only one."""

from django.conf import settings
from django.db import migrations


def forwards(apps, schema_editor):
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    Clock = apps.get_model("sla", "Clock")
    if not SlaPolicy.objects.exists():
        SlaPolicy.objects.create(
            name="Default",
            priority=1000,
            response_hours=settings.SLA_RESPONSE_BUSINESS_HOURS,
            follow_up_touches=settings.SLA_FOLLOW_UP_TOUCHES,
            follow_up_days=settings.SLA_FOLLOW_UP_BUSINESS_DAYS,
            warn_percents=[50, settings.SLA_WARN_AT_PERCENT] if settings.SLA_WARN_AT_PERCENT > 50 else [settings.SLA_WARN_AT_PERCENT],
            on_breach="notify",
            escalate_to_manager=True,
        )
    Clock.objects.filter(warned_at__isnull=False).update(warn_at=None, warnings_sent=1)


class Migration(migrations.Migration):
    dependencies = [("sla", "0003_sla_policies")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
