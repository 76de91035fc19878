"""The notification outbox, moved here from leads (docs/architecture.md): its table keeps its name,
leads_notification."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from smarketing.core.moves import content_types_moved


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('leads', '0021_partial_person_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The tables exist already (see above): Django's state changes, the database does not.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('mql_assigned', 'An MQL was assigned to you'), ('mql_rejected', 'Your MQL was rejected'), ('lead_won', 'Your lead was won'), ('referral_converted', 'A lead you referred converted'), ('sla_warning', 'SLA deadline approaching'), ('sla_breach', 'SLA deadline breached'), ('weekly_digest', 'Weekly funnel digest'), ('agreement', 'The agreement changed')], max_length=30)),
                        ('dedupe_key', models.CharField(max_length=100)),
                        ('subject', models.CharField(max_length=200)),
                        ('body', models.TextField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('read_at', models.DateTimeField(blank=True, null=True)),
                        ('email_claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('emailed_at', models.DateTimeField(blank=True, null=True)),
                        ('lead', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='leads.lead')),
                        ('recipient', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'leads_notification',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(condition=models.Q(('read_at__isnull', True)), fields=['recipient', '-created_at'], name='notification_unread'), models.Index(condition=models.Q(('emailed_at__isnull', True)), fields=['created_at'], name='notification_email_pending')],
                        'constraints': [models.UniqueConstraint(fields=('recipient', 'kind', 'dedupe_key'), name='notification_once_per_event')],
                    },
                ),
    
            ],
        ),
        content_types_moved('leads', 'notifications', ['notification']),
    ]
