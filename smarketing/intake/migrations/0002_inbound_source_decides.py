"""What an inbound source records is its own, set by a manager: the engagement type, the
profile fields a post may fill, and its limits (issue 20: an anonymous post decided how much
it scored)."""

import smarketing.intake.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('intake', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='inboundsource',
            name='engagement_type',
            field=models.CharField(choices=[('page_view', 'Web page visit'), ('pricing_page', 'Pricing page visit'), ('content_download', 'Content download'), ('webinar_registered', 'Webinar registration'), ('webinar_attended', 'Webinar attended'), ('event_attended', 'Event attended'), ('email_click', 'Email click'), ('form_submit', 'Form submitted'), ('demo_request', 'Demo request'), ('other', 'Other')], default='form_submit', max_length=30),
        ),
        migrations.AddField(
            model_name='inboundsource',
            name='fields',
            field=models.JSONField(blank=True, default=smarketing.intake.models.default_form_fields, help_text='The profile fields a post may fill in.'),
        ),
        migrations.AddField(
            model_name='inboundsource',
            name='per_email_per_day',
            field=models.PositiveSmallIntegerField(default=1, help_text='Engagements recorded for one email in 24 hours; more posts record nothing.'),
        ),
        migrations.AddField(
            model_name='inboundsource',
            name='per_minute',
            field=models.PositiveIntegerField(default=60, help_text='Posts accepted per minute.'),
        ),
    ]
