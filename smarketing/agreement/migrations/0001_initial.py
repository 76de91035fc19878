"""The agreement's models (reasons, scoring, the hand-off gate, routing rules, changes, versions),
moved here from leads (docs/architecture.md): their tables keep their names (leads_*)."""

import django.core.validators
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
                    name='AgreementChange',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('area', models.CharField(max_length=30)),
                        ('summary', models.CharField(max_length=300)),
                        ('occurred_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('before', models.JSONField(blank=True, null=True)),
                        ('after', models.JSONField(blank=True, null=True)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'leads_agreementchange',
                        'ordering': ['-occurred_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='HandoffGate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('required_fields', models.JSONField(blank=True, default=list)),
                        ('min_engagements', models.PositiveSmallIntegerField(default=1)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'leads_handoffgate',
                    },
                ),
                migrations.CreateModel(
                    name='Reason',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('rejection', 'Rejection (sales sends an MQL back)'), ('loss', 'Loss (an SQL did not buy)'), ('disqualification', 'Disqualification (out of the funnel)')], max_length=20)),
                        ('code', models.SlugField()),
                        ('label', models.CharField(max_length=120)),
                        ('description', models.TextField(blank=True)),
                        ('loss_outcome', models.CharField(blank=True, choices=[('recycle', 'Back to marketing (recycled, nurture)'), ('disqualify', 'Disqualified')], help_text='Loss reasons only: whether the lead is recycled or disqualified.', max_length=20)),
                        ('is_active', models.BooleanField(default=True)),
                        ('position', models.PositiveSmallIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'leads_reason',
                        'ordering': ['kind', 'position', 'label'],
                        'constraints': [models.UniqueConstraint(fields=('kind', 'code'), name='reason_unique_code_per_kind'), models.CheckConstraint(condition=models.Q(models.Q(('kind', 'loss'), models.Q(('loss_outcome', ''), _negated=True)), models.Q(models.Q(('kind', 'loss'), _negated=True), ('loss_outcome', '')), _connector='OR'), name='reason_loss_outcome_only_for_losses', violation_error_message='A loss reason needs an outcome; other reasons have none.')],
                    },
                ),
                migrations.CreateModel(
                    name='ScoringDefinition',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('threshold', models.IntegerField(default=60, help_text='A lead at or above this score is sales-ready (MQL).')),
                        ('auto_qualify', models.BooleanField(default=False, help_text='Hand a lead to sales automatically when its score reaches the threshold and it passes the hand-off gate (not for leads sales sent back: those need a note).')),
                        ('decay_half_life_days', models.PositiveIntegerField(blank=True, help_text='Engagement points halve every this many days. Empty: no decay.', null=True, validators=[django.core.validators.MinValueValidator(1)])),
                        ('version', models.PositiveIntegerField(default=1)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'leads_scoringdefinition',
                    },
                ),
                migrations.CreateModel(
                    name='ScoringRule',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('fit', 'Fit (who they are)'), ('engagement', 'Engagement (what they did)')], max_length=20)),
                        ('label', models.CharField(help_text="Shown on every lead's score receipt.", max_length=120)),
                        ('field', models.CharField(blank=True, choices=[('job_title', 'Job title'), ('company', 'Company'), ('company_size', 'Company size'), ('country', 'Country'), ('source', 'Source'), ('email_domain', 'Email domain'), ('phone', 'Phone'), ('website', 'Website')], max_length=30)),
                        ('operator', models.CharField(blank=True, choices=[('contains', 'contains any of'), ('equals', 'equals'), ('in', 'is one of'), ('gte', 'is at least'), ('lte', 'is at most'), ('is_set', 'is filled in')], max_length=20)),
                        ('value', models.CharField(blank=True, help_text='For “contains any of” and “is one of”: values separated by commas.', max_length=500)),
                        ('engagement_type', models.CharField(blank=True, choices=[('page_view', 'Web page visit'), ('pricing_page', 'Pricing page visit'), ('content_download', 'Content download'), ('webinar_registered', 'Webinar registration'), ('webinar_attended', 'Webinar attended'), ('event_attended', 'Event attended'), ('email_click', 'Email click'), ('form_submit', 'Form submitted'), ('demo_request', 'Demo request'), ('other', 'Other')], max_length=30)),
                        ('points', models.IntegerField(help_text='Negative points mark a poor fit.')),
                        ('is_active', models.BooleanField(default=True)),
                        ('position', models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'leads_scoringrule',
                        'ordering': ['kind', 'position', 'id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('kind', 'fit'), models.Q(('field', ''), _negated=True), models.Q(('operator', ''), _negated=True)), models.Q(('kind', 'engagement'), models.Q(('engagement_type', ''), _negated=True)), _connector='OR'), name='scoring_rule_complete', violation_error_message='A fit rule needs a field and a test; an engagement rule needs a type.'), models.CheckConstraint(condition=models.Q(('points__gte', -1000), ('points__lte', 1000)), name='scoring_rule_points_range', violation_error_message='Points must be between -1000 and 1000.')],
                    },
                ),
                migrations.CreateModel(
                    name='AgreementVersion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField(unique=True)),
                        ('status', models.CharField(choices=[('proposed', 'Waiting for confirmation'), ('in_force', 'In force'), ('superseded', 'Superseded'), ('withdrawn', 'Withdrawn')], db_index=True, max_length=20)),
                        ('note', models.TextField(blank=True, help_text='The change note: why the agreement changes.')),
                        ('changes', models.JSONField(blank=True, default=list)),
                        ('terms', models.JSONField(blank=True, default=dict)),
                        ('proposed_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('sales_confirmed_at', models.DateTimeField(blank=True, null=True)),
                        ('marketing_confirmed_at', models.DateTimeField(blank=True, null=True)),
                        ('in_force_from', models.DateTimeField(blank=True, null=True)),
                        ('in_force_until', models.DateTimeField(blank=True, null=True)),
                        ('closed_by', models.ForeignKey(blank=True, help_text='Who withdrew it.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('marketing_confirmed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('proposed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('sales_confirmed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'leads_agreementversion',
                        'ordering': ['-number'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'proposed')), fields=('status',), name='agreement_one_proposed_version', violation_error_message='Another version is waiting for confirmation already.'), models.UniqueConstraint(condition=models.Q(('status', 'in_force')), fields=('status',), name='agreement_one_version_in_force')],
                    },
                ),
                migrations.CreateModel(
                    name='RoutingRule',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('position', models.PositiveIntegerField(default=0)),
                        ('name', models.CharField(max_length=120)),
                        ('countries', models.CharField(blank=True, help_text='Two-letter codes separated by commas; empty: any country.', max_length=500)),
                        ('min_company_size', models.PositiveIntegerField(blank=True, null=True)),
                        ('max_company_size', models.PositiveIntegerField(blank=True, null=True)),
                        ('sources', models.JSONField(blank=True, default=list, help_text='Empty: any source.')),
                        ('is_active', models.BooleanField(default=True)),
                        ('team', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='routing_rules', to='org.team')),
                    ],
                    options={
                        'db_table': 'leads_routingrule',
                        'ordering': ['position', 'id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('min_company_size__isnull', True), ('max_company_size__isnull', True), ('max_company_size__gte', models.F('min_company_size')), _connector='OR'), name='routing_rule_size_range', violation_error_message='The largest company size must not be below the smallest.')],
                    },
                ),
    
            ],
        ),
        content_types_moved('leads', 'agreement', ['reason', 'scoringdefinition', 'scoringrule', 'handoffgate', 'routingrule', 'agreementchange', 'agreementversion']),
    ]
