"""Drop the clocks' single-column lead and owner indexes: clock_lead (lead, obligation)
and clock_owner_due (owner, due_at) begin with the same columns and serve the same
lookups, and every index is one more write for each clock an enforcement run updates.

Only the indexes go: the foreign keys' constraints stay as they are (AlterField would
drop and re-add them, checking every clock again under an exclusive lock). The
backwards migration puts the indexes back.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

COLUMNS = ["lead_id", "owner_id"]


def _index_name(schema_editor, column: str) -> str:
    """The name Django gave the index (as its schema editor names them)."""
    return schema_editor._create_index_name("sla_clock", [column])


def forwards(apps, schema_editor):
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_index_name(schema_editor, column)}")


def backwards(apps, schema_editor):
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {_index_name(schema_editor, column)} ON sla_clock ({column})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0016_lead_search_and_sort_indexes"),
        ("sla", "0008_clock_report_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
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
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
