"""Teams, memberships and campaigns, moved here from leads (docs/architecture.md): their tables keep
their names (leads_team, leads_membership, leads_campaign)."""

import django.core.validators
import django.db.models.deletion
import smarketing.core.validators
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
                    name='Campaign',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200, unique=True)),
                        ('channel', models.CharField(choices=[('paid_search', 'Paid search'), ('paid_social', 'Paid social'), ('email', 'Email'), ('event', 'Event'), ('webinar', 'Webinar'), ('content', 'Content'), ('partner', 'Partner'), ('other', 'Other')], default='other', max_length=20)),
                        ('cost', models.DecimalField(decimal_places=2, default=0, max_digits=12, validators=[django.core.validators.MinValueValidator(0)])),
                        ('starts_on', models.DateField(blank=True, null=True)),
                        ('ends_on', models.DateField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'leads_campaign',
                        'ordering': ['-starts_on', 'name'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('ends_on__isnull', True), ('starts_on__isnull', True), ('ends_on__gte', models.F('starts_on')), _connector='OR'), name='campaign_ends_after_start', violation_error_message='A campaign cannot end before it starts.'), models.CheckConstraint(condition=models.Q(('cost__gte', 0)), name='campaign_cost_not_negative')],
                    },
                ),
                migrations.CreateModel(
                    name='Membership',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('weight', models.PositiveSmallIntegerField(default=1, validators=[django.core.validators.MinValueValidator(1)])),
                        ('is_away', models.BooleanField(default=False)),
                        ('assigned_count', models.PositiveIntegerField(default=0, help_text='MQLs routed to this person; round-robin balances it by weight.')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='membership', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'leads_membership',
                    },
                ),
                migrations.CreateModel(
                    name='Team',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('kind', models.CharField(choices=[('marketing', 'Marketing'), ('sales', 'Sales')], max_length=20)),
                        ('time_zone', models.CharField(default='Europe/Berlin', max_length=64, validators=[smarketing.core.validators.validate_time_zone])),
                        ('manager', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='managed_teams', to=settings.AUTH_USER_MODEL)),
                        ('members', models.ManyToManyField(blank=True, related_name='teams', through='org.Membership', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'leads_team',
                        'ordering': ['name'],
                    },
                ),
                migrations.AddField(
                    model_name='membership',
                    name='team',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='org.team'),
                ),
    
            ],
        ),
        content_types_moved('leads', 'org', ['team', 'membership', 'campaign']),
    ]
