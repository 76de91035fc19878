import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Drop the clocks' single-column lead and owner indexes: clock_lead and clock_owner_due
    start with those columns, and each index is one more write per enforcement UPDATE."""

    dependencies = [
        ("leads", "0016_lead_search_and_sort_indexes"),
        ("sla", "0008_clock_report_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="clock",
            name="lead",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="clocks",
                to="leads.lead",
            ),
        ),
        migrations.AlterField(
            model_name="clock",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sla_clocks",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
