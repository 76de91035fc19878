"""Imports and inbound sources, moved here from leads (docs/architecture.md): their tables keep
their names (leads_importjob, leads_importrow, leads_inboundsource, leads_idempotencyrecord)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from smarketing.core.moves import content_types_moved


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('leads', '0021_partial_person_indexes'),
        ('org', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The tables exist already (see above): Django's state changes, the database does not.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ImportJob',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('file_name', models.CharField(max_length=255)),
                        ('stored_path', models.CharField(max_length=500)),
                        ('file_size', models.PositiveBigIntegerField(default=0)),
                        ('sha256', models.CharField(max_length=64)),
                        ('encoding', models.CharField(max_length=20)),
                        ('delimiter', models.CharField(max_length=2)),
                        ('headers', models.JSONField(default=list)),
                        ('mapping', models.JSONField(default=dict, help_text='{column header: lead field}')),
                        ('default_source', models.CharField(choices=[('website', 'Website'), ('organic_search', 'Organic search'), ('paid_search', 'Paid search'), ('paid_social', 'Paid social'), ('social', 'Social media'), ('email', 'Email marketing'), ('event', 'Event'), ('webinar', 'Webinar'), ('referral', 'Employee referral'), ('partner', 'Partner'), ('list_import', 'List import'), ('other', 'Other')], default='list_import', max_length=30)),
                        ('status', models.CharField(choices=[('mapping', 'Waiting for the column mapping'), ('queued', 'Queued'), ('running', 'Importing'), ('done', 'Done'), ('failed', 'Stopped by an error')], default='mapping', max_length=20)),
                        ('rows_estimate', models.PositiveIntegerField(blank=True, null=True)),
                        ('rows_done', models.PositiveIntegerField(default=0)),
                        ('last_row', models.PositiveIntegerField(default=1, help_text='Spreadsheet row number last committed.')),
                        ('created_count', models.PositiveIntegerField(default=0)),
                        ('updated_count', models.PositiveIntegerField(default=0)),
                        ('skipped_count', models.PositiveIntegerField(default=0)),
                        ('failed_count', models.PositiveIntegerField(default=0)),
                        ('error', models.TextField(blank=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, help_text='Last sign of life: queued, claimed, or a chunk committed.', null=True)),
                        ('campaign', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.campaign')),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='imports', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'leads_importjob',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='ImportRow',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('row_number', models.PositiveIntegerField()),
                        ('outcome', models.CharField(choices=[('failed', 'Failed'), ('skipped', 'Skipped as duplicate')], max_length=10)),
                        ('message', models.CharField(max_length=500)),
                        ('email', models.CharField(blank=True, max_length=254)),
                        ('values', models.JSONField(default=dict)),
                        ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rows', to='intake.importjob')),
                        ('lead', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='leads.lead')),
                    ],
                    options={
                        'db_table': 'leads_importrow',
                        'ordering': ['job', 'row_number'],
                    },
                ),
                migrations.CreateModel(
                    name='InboundSource',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('source', models.CharField(choices=[('website', 'Website'), ('organic_search', 'Organic search'), ('paid_search', 'Paid search'), ('paid_social', 'Paid social'), ('social', 'Social media'), ('email', 'Email marketing'), ('event', 'Event'), ('webinar', 'Webinar'), ('referral', 'Employee referral'), ('partner', 'Partner'), ('list_import', 'List import'), ('other', 'Other')], default='website', max_length=30)),
                        ('key_prefix', models.CharField(max_length=12, unique=True)),
                        ('key_hash', models.CharField(max_length=64, unique=True)),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('campaign', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='org.campaign')),
                        ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'leads_inboundsource',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='IdempotencyRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=200)),
                        ('request_hash', models.CharField(max_length=64)),
                        ('status_code', models.PositiveSmallIntegerField()),
                        ('body', models.JSONField()),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('inbound_source', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='intake.inboundsource')),
                    ],
                    options={
                        'db_table': 'leads_idempotencyrecord',
                    },
                ),
                migrations.AddIndex(
                    model_name='importjob',
                    index=models.Index(fields=['created_by', '-created_at'], name='import_by_user'),
                ),
                migrations.AddIndex(
                    model_name='importrow',
                    index=models.Index(fields=['job', 'outcome', 'row_number'], name='import_row_outcome'),
                ),
                migrations.AddConstraint(
                    model_name='importrow',
                    constraint=models.UniqueConstraint(fields=('job', 'row_number'), name='import_row_once'),
                ),
                migrations.AddConstraint(
                    model_name='idempotencyrecord',
                    constraint=models.UniqueConstraint(fields=('inbound_source', 'key'), name='idempotency_key_once_per_source'),
                ),
    
            ],
        ),
        content_types_moved('leads', 'intake', ['importjob', 'importrow', 'inboundsource', 'idempotencyrecord']),
    ]
