"""DeferredTask, moved here from leads (docs/architecture.md): its table keeps its name,
leads_deferredtask."""

import django.utils.timezone
from django.db import migrations, models

from smarketing.core.moves import content_types_moved


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('leads', '0021_partial_person_indexes'),
    ]

    # The tables exist already (see above): Django's state changes, the database does not.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DeferredTask',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('args', models.JSONField(default=list)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'leads_deferredtask',
                        'ordering': ['id'],
                    },
                ),
            ],
        ),
        content_types_moved('leads', 'core', ['deferredtask']),
    ]
