"""Notifications keep their lead and recipient as loose keys: the columns and the lead's
index stay, the database's foreign-key constraints go (db_constraint=False).

Why: an SLA run writes about 1,500 notifications in one transaction, and each constraint
is checked per row at commit, by a query that also locks the referenced lead row (FOR KEY
SHARE): for 1,000 due clocks that was about 45 ms of a run, growing with the lead table
(the locked rows are scattered over it). Notifications are an outbox and an inbox, not
part of a lead's record: nothing reads them to decide anything about the lead.

What keeps them consistent instead: a lead with a history cannot be deleted at all (its
immutable events protect it); a person is deleted through Django, whose collector still
deletes their notifications (on_delete=CASCADE works without the constraint); and every
notification is written with the id of a lead and a person just read in the same
transaction. docs/decisions.md ("Notifications' loose keys") has the reasoning.

Dropping a constraint takes a brief exclusive lock and checks nothing. Backwards adds the
constraints back, which checks every notification.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0019_notification_recipient_index_covered"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="lead",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to="leads.lead",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="recipient",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
