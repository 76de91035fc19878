"""Notification emails the mail server refused: how often tried, when given up, the last error."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='notification',
            name='email_attempts',
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='notification',
            name='email_error',
            field=models.CharField(blank=True, db_default='', default='', max_length=300),
        ),
        migrations.AddField(
            model_name='notification',
            name='email_failed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
