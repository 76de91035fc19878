"""The lead's person and survivor indexes leave out the leads that have none.

The owner, qualifier, referrer and merge survivor are looked up by who (or which lead)
they are: a rep's queue, a marketer's hand-offs, a person's referrals, the leads merged
into one, and PostgreSQL's own check before a person or lead is deleted. None of these
asks for the leads without one: every new and imported lead, and most of the others. An
index entry for each of those cost every new lead four index writes for nothing. A
condition `x = value` implies `x IS NOT NULL`, so the planner uses the partial indexes
for every one of these look-ups.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0020_notification_loose_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="lead",
            name="lead_owner_stage",
        ),
        migrations.RemoveIndex(
            model_name="lead",
            name="lead_qualified_by_stage",
        ),
        migrations.AlterField(
            model_name="lead",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="merged_leads",
                to="leads.lead",
            ),
        ),
        migrations.AlterField(
            model_name="lead",
            name="referrer",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="referred_leads",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("owner__isnull", False)),
                fields=["owner", "stage"],
                name="lead_owner_stage",
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("qualified_by__isnull", False)),
                fields=["qualified_by", "stage"],
                name="lead_qualified_by_stage",
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("referrer__isnull", False)), fields=["referrer"], name="lead_referrer"
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)),
                fields=["merged_into"],
                name="lead_merged_into",
            ),
        ),
    ]
