"""Marketing's weekly commitment and its recorded weeks, moved here from sla (docs/architecture.md):
their tables keep their names (sla_marketingcommitment, sla_commitmentweek)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from smarketing.core.moves import content_types_moved


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0003_rollup_triggers'),
        ('sla', '0009_clock_fk_indexes_covered'),
        ('org', '0001_initial'),
    ]

    # The tables exist already (see above): Django's state changes, the database does not.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='MarketingCommitment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('min_mqls', models.PositiveIntegerField(default=20)),
                        ('min_acceptance_percent', models.PositiveSmallIntegerField(default=60)),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('team', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='commitment', to='org.team')),
                    ],
                    options={
                        'db_table': 'sla_marketingcommitment',
                    },
                ),
                migrations.CreateModel(
                    name='CommitmentWeek',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('week_start', models.DateField(help_text="Monday of the ISO week, in the organisation's time zone.")),
                        ('mqls', models.PositiveIntegerField()),
                        ('accepted', models.PositiveIntegerField()),
                        ('rejected', models.PositiveIntegerField()),
                        ('min_mqls', models.PositiveIntegerField()),
                        ('min_acceptance_percent', models.PositiveSmallIntegerField()),
                        ('met', models.BooleanField()),
                        ('recorded_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='commitment_weeks', to='org.team')),
                    ],
                    options={
                        'db_table': 'sla_commitmentweek',
                        'ordering': ['-week_start', 'team'],
                        'constraints': [models.UniqueConstraint(fields=('team', 'week_start'), name='commitment_week_once')],
                    },
                ),
    
            ],
        ),
        content_types_moved('sla', 'reports', ['marketingcommitment', 'commitmentweek']),
    ]
