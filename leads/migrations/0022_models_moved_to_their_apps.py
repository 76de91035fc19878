"""The models that are not the funnel's moved to their own apps (docs/architecture.md): Django's
state only. Every table, index and constraint stays as it is."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0021_partial_person_indexes'),
        ('core', '0001_initial'),
        ('org', '0001_initial'),
        ('notifications', '0001_initial'),
        ('agreement', '0001_initial'),
        ('intake', '0001_initial'),
        ('sla', '0010_commitments_moved_to_reports'),
    ]

    # The tables exist already (see above): Django's state changes, the database does not.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='agreementchange',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='agreementversion',
                    name='closed_by',
                ),
                migrations.RemoveField(
                    model_name='agreementversion',
                    name='marketing_confirmed_by',
                ),
                migrations.RemoveField(
                    model_name='agreementversion',
                    name='proposed_by',
                ),
                migrations.RemoveField(
                    model_name='agreementversion',
                    name='sales_confirmed_by',
                ),
                migrations.RemoveField(
                    model_name='inboundsource',
                    name='campaign',
                ),
                migrations.RemoveField(
                    model_name='importjob',
                    name='campaign',
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='campaign',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='leads', to='org.campaign'),
                ),
                migrations.DeleteModel(
                    name='DeferredTask',
                ),
                migrations.RemoveField(
                    model_name='handoffgate',
                    name='updated_by',
                ),
                migrations.RemoveField(
                    model_name='idempotencyrecord',
                    name='inbound_source',
                ),
                migrations.RemoveField(
                    model_name='importjob',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='importrow',
                    name='job',
                ),
                migrations.RemoveField(
                    model_name='importrow',
                    name='lead',
                ),
                migrations.RemoveField(
                    model_name='inboundsource',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='team',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='team',
                    name='members',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='lead',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='recipient',
                ),
                migrations.AlterField(
                    model_name='leadevent',
                    name='reason',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='agreement.reason'),
                ),
                migrations.RemoveField(
                    model_name='routingrule',
                    name='team',
                ),
                migrations.RemoveField(
                    model_name='scoringdefinition',
                    name='updated_by',
                ),
                migrations.DeleteModel(
                    name='ScoringRule',
                ),
                migrations.RemoveField(
                    model_name='team',
                    name='manager',
                ),
                migrations.DeleteModel(
                    name='AgreementChange',
                ),
                migrations.DeleteModel(
                    name='AgreementVersion',
                ),
                migrations.DeleteModel(
                    name='Campaign',
                ),
                migrations.DeleteModel(
                    name='HandoffGate',
                ),
                migrations.DeleteModel(
                    name='IdempotencyRecord',
                ),
                migrations.DeleteModel(
                    name='ImportJob',
                ),
                migrations.DeleteModel(
                    name='ImportRow',
                ),
                migrations.DeleteModel(
                    name='InboundSource',
                ),
                migrations.DeleteModel(
                    name='Membership',
                ),
                migrations.DeleteModel(
                    name='Notification',
                ),
                migrations.DeleteModel(
                    name='Reason',
                ),
                migrations.DeleteModel(
                    name='RoutingRule',
                ),
                migrations.DeleteModel(
                    name='ScoringDefinition',
                ),
                migrations.DeleteModel(
                    name='Team',
                ),
    
            ],
        ),
    ]
