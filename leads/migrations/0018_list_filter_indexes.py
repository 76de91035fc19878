"""Indexes for the lead list's two commonest filters at a million leads: a rep's leads
and a stage, newest first, over live leads (not merged away) as the list shows them.

Without them the page walked the created_at index past every other rep's or stage's
leads (a rep has 1 lead in 55), and the count up to 10,000 read its rows from the table;
with them the page is the first 51 entries and the count an index-only scan. Unowned
leads (every imported one) are left out of the owner's index: they are never listed by
owner, and an index entry is a write per import row.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0017_lead_indexes_no_longer_used"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", True), ("owner__isnull", False)),
                fields=["owner", "-created_at", "-id"],
                name="lead_owner_newest",
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", True)),
                fields=["stage", "-created_at", "-id"],
                name="lead_stage_newest",
            ),
        ),
    ]
