"""Tasks kept while the broker was down are stored by name, and some tasks moved app with
their code (docs/architecture.md): the kept rows are renamed, so that the beat job sends
them to the tasks as they are named now."""

from django.db import migrations

MOVED = {
    "leads.tasks.notification_email": "smarketing.notifications.tasks.notification_email",
    "leads.tasks.notification_emails": "smarketing.notifications.tasks.notification_emails",
    "leads.tasks.notifications_deliver_pending": "smarketing.notifications.tasks.notifications_deliver_pending",
    "leads.tasks.import_run": "smarketing.intake.tasks.import_run",
    "leads.tasks.imports_resume_stalled": "smarketing.intake.tasks.imports_resume_stalled",
    "leads.tasks.deferred_tasks_send": "smarketing.core.tasks.deferred_tasks_send",
    "sla.tasks.commitments_close_weeks": "reports.tasks.commitments_close_weeks",
}


def rename(mapping):
    def run(apps, schema_editor):
        DeferredTask = apps.get_model("core", "DeferredTask")
        for old, new in mapping.items():
            DeferredTask.objects.filter(name=old).update(name=new)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(rename(MOVED), rename({new: old for old, new in MOVED.items()})),
    ]
