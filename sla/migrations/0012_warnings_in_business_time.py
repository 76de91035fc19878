"""Warnings fall at W% of a clock's business time, not of its clock time (issue 21).

Clocks that are still running were scheduled the old way: a hand-off on Friday 16:30 was
warned on Sunday. Their next warning is computed again in their owner's calendar; the
warnings already sent stay sent.
"""

from django.conf import settings
from django.db import migrations

from sla.calendar import BusinessCalendar
from sla.services import _schedule, calendar_from


def owner_calendars(apps):
    """owner id → that person's business calendar (their team's, or the default), from the
    historical models (sla 0014 uses it too)."""
    TeamCalendar = apps.get_model("sla", "TeamCalendar")
    Team = apps.get_model("org", "Team")
    Membership = apps.get_model("org", "Membership")

    stored = {c.team_id: c for c in TeamCalendar.objects.prefetch_related("closures")}
    calendars = {team.pk: calendar_from(team, stored.get(team.pk)) for team in Team.objects.all()}
    default = BusinessCalendar(time_zone=settings.SMARKETING_TIME_ZONE)
    team_of = dict(Membership.objects.values_list("user_id", "team_id"))
    return lambda owner_id: calendars.get(team_of.get(owner_id), default)


def reschedule(apps, schema_editor):
    Clock = apps.get_model("sla", "Clock")
    calendar_of = owner_calendars(apps)
    running = Clock.objects.filter(
        met_at__isnull=True, cancelled_at__isnull=True, breached_at__isnull=True, warn_at__isnull=False
    )
    changed = []
    for clock in running.iterator(chunk_size=2000):
        calendar = calendar_of(clock.owner_id)
        schedule = _schedule(clock.started_at, clock.due_at, clock.warn_percents or [settings.SLA_WARN_AT_PERCENT], calendar)
        left = schedule[clock.warnings_sent :]
        clock.warn_at = left[0] if left else None
        changed.append(clock)
        if len(changed) == 2000:
            Clock.objects.bulk_update(changed, ["warn_at"])
            changed = []
    Clock.objects.bulk_update(changed, ["warn_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0011_clock_breached_due"),
        ("org", "0001_initial"),
    ]

    operations = [migrations.RunPython(reschedule, migrations.RunPython.noop)]
