"""Drop the notifications' single-column recipient index: notification_once_per_event
(recipient, kind, dedupe key) and notification_unread (recipient, newest first) begin
with the same column, and every index is one more write for each notification (an SLA
run writes about 1,500 at once).

Only the index goes: the foreign key's constraint stays (AlterField would drop and re-add
it, checking every notification again under an exclusive lock). Backwards puts it back.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _index_name(schema_editor) -> str:
    """The name Django gave the index (as its schema editor names them)."""
    return schema_editor._create_index_name("leads_notification", ["recipient_id"])


def forwards(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {_index_name(schema_editor)}")


def backwards(apps, schema_editor):
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {_index_name(schema_editor)} ON leads_notification (recipient_id)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0018_list_filter_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="notification",
                    name="recipient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
