"""Speed to lead runs from the hand-off (issue 21), also after an SLA reassignment.

A reassignment ends the first rep's response clock and starts a fresh one for the next rep
(`clocks_restart`); the answer then stored the business time from the restart, not from the
hand-off, and speed to lead read it. The response clocks met after such a restart get their
business time again, from the lead's hand-off (its last `qualified` event at or before the
clock's start), in the owner's calendar, as `clock_meet_response` now stores it.
"""

import importlib

from django.db import migrations
from django.db.models import Exists, OuterRef, Subquery

from sla.calendar import business_time_between


def remeasure(apps, schema_editor):
    Clock = apps.get_model("sla", "Clock")
    LeadEvent = apps.get_model("leads", "LeadEvent")
    calendar_of = importlib.import_module("sla.migrations.0012_warnings_in_business_time").owner_calendars(apps)
    restarted = Clock.objects.filter(
        lead=OuterRef("lead"), obligation="response", cancelled_at=OuterRef("started_at"), id__lt=OuterRef("id")
    )
    handed_off = (
        LeadEvent.objects.filter(lead=OuterRef("lead"), type="qualified", occurred_at__lte=OuterRef("started_at"))
        .order_by("-occurred_at", "-id")
        .values("occurred_at")[:1]
    )
    clocks = (
        Clock.objects.filter(obligation="response", met_at__isnull=False)
        .filter(Exists(restarted))
        .annotate(handed_off=Subquery(handed_off))
    )
    changed = []
    for clock in clocks.iterator(chunk_size=2000):
        if clock.handed_off is None or clock.handed_off >= clock.started_at:
            continue
        spent = business_time_between(clock.handed_off, clock.met_at, calendar_of(clock.owner_id))
        clock.business_seconds = int(spent.total_seconds())
        changed.append(clock)
    Clock.objects.bulk_update(changed, ["business_seconds"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0013_clock_breached_index_unused"),
        ("leads", "0022_models_moved_to_their_apps"),
    ]

    operations = [migrations.RunPython(remeasure, migrations.RunPython.noop)]
