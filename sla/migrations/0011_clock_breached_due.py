"""SLA compliance resolves a breached clock at its due time, not when the breach was
detected: reports read breached clocks by `due_at` (docs/product.md, "SLA compliance")."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0010_commitments_moved_to_reports"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="clock",
            index=models.Index(
                condition=models.Q(("breached_at__isnull", False)),
                fields=["due_at"],
                name="clock_breached_due",
            ),
        ),
    ]
