"""Marketing's commitment moved to reports, and teams and campaigns to org (docs/architecture.md):
Django's state only, no table changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0009_clock_fk_indexes_covered'),
        ('org', '0001_initial'),
        ('reports', '0004_commitments_moved_from_sla'),
    ]

    # The tables exist already (see above): Django's state changes, the database does not.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='marketingcommitment',
                    name='team',
                ),
                migrations.AlterField(
                    model_name='slapolicy',
                    name='campaign',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.campaign'),
                ),
                migrations.AlterField(
                    model_name='slapolicy',
                    name='team',
                    field=models.ForeignKey(blank=True, help_text="The rep's team.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.team'),
                ),
                migrations.AlterField(
                    model_name='teamcalendar',
                    name='team',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='calendar', to='org.team'),
                ),
                migrations.DeleteModel(
                    name='CommitmentWeek',
                ),
                migrations.DeleteModel(
                    name='MarketingCommitment',
                ),
    
            ],
        ),
    ]
