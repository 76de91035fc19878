"""Issue 21: warnings fall in business time, and the loose ends of clocks and breaches.

- A clock warns at W% of its *business* time (DESIGN: a clock of 8 business hours warns at
  50% when 4 business hours have passed), in its owner's calendar; running clocks that were
  scheduled in clock time are scheduled again (migration sla 0012).
- A breach recorded by enforcement is never overwritten by a late meet.
- A breached follow-up clock stops; an SLA reassignment gives the new rep a fresh one.
- An SLA breach action acts only while the breached clock is still the lead's obligation,
  and reassigns in the transaction that checked the owner.
- A lead returned to marketing by enforcement tells the marketer who qualified it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.db import connection, transaction

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from sla import services as sla_services
from sla import tasks as sla_tasks
from sla.calendars import DEFAULT_HOURS
from sla.models import BreachAction, CalendarClosure, Clock, Obligation, SlaPolicy, TeamCalendar
from smarketing.core.errors import ActionError
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.notifications.services import notify

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BERLIN)


FRIDAY = dt.date(2026, 11, 27)
HOLIDAY_MONDAY = dt.date(2026, 11, 30)
TUESDAY = dt.date(2026, 12, 1)


@pytest.fixture
def monday_closed(org):
    calendar = TeamCalendar.objects.create(team=org.sales, hours=DEFAULT_HOURS)
    CalendarClosure.objects.create(calendar=calendar, date=HOLIDAY_MONDAY, reason="Public holiday")
    return calendar


def _hand_off(make_mql, moment: dt.datetime, **fields) -> Lead:
    with time_machine.travel(moment, tick=False):
        return make_mql(**fields)


def test_friday_hand_off_before_a_holiday_is_warned_at_half_its_business_time(org, make_mql, monday_closed):
    lead = _hand_off(make_mql, berlin(FRIDAY, 16, 30))
    clock = Clock.objects.get(lead=lead)
    # 8 business hours: ½ h on Friday, Monday closed, 7 ½ h on Tuesday.
    assert clock.due_at == berlin(TUESDAY, 16, 30)
    # 50 % = 4 business hours: ½ h on Friday and 3 ½ h on Tuesday — not Sunday 16:30.
    assert clock.warn_at == berlin(TUESDAY, 12, 30)
    assert sla_services.sla_enforce(now=berlin(dt.date(2026, 11, 29), 16, 31)).warned == 0
    assert sla_services.sla_enforce(now=berlin(TUESDAY, 12, 29)).warned == 0
    assert sla_services.sla_enforce(now=berlin(TUESDAY, 12, 31)).warned == 1
    clock.refresh_from_db()
    # 80 % = 6 h 24 min of business time: Tuesday 14:54.
    assert (clock.warnings_sent, clock.warn_at) == (1, berlin(TUESDAY, 14, 54))


def test_a_hand_off_in_the_night_is_not_warned_before_the_office_opens(org, make_mql):
    monday = dt.date(2026, 11, 23)
    lead = _hand_off(make_mql, berlin(monday, 0, 20))
    clock = Clock.objects.get(lead=lead)
    assert clock.due_at == berlin(monday, 17, 0)
    assert clock.warn_at == berlin(monday, 13, 0)  # not 08:40
    assert sla_services.sla_enforce(now=berlin(monday, 8, 41)).warned == 0


def test_each_warning_is_timed_in_its_owners_calendar(org, make_mql):
    """Two reps in teams on different zones: each clock's warnings follow its own calendar,
    in one enforcement run."""
    org.other_sales.time_zone = "America/New_York"
    org.other_sales.save()
    monday = dt.date(2026, 11, 23)
    SlaPolicy.objects.update(warn_percents=[25, 50])
    start = berlin(monday, 10)  # 04:00 in New York
    east = _hand_off(make_mql, start, email="east@example.com")
    west = _hand_off(make_mql, start, email="west@example.com")
    services.lead_reassign(lead_id=west.pk, actor=org.admin, new_owner=org.other_rep)
    Clock.objects.filter(lead=west).delete()
    with time_machine.travel(start, tick=False):
        sla_services.clock_start_response(
            lead=Lead.objects.get(pk=west.pk), owner=org.other_rep, started_at=start
        )
    new_york = ZoneInfo("America/New_York")
    west_clock = Clock.objects.get(lead=west)
    # New York opens at 09:00 (15:00 Berlin): 25 % of 8 h is 11:00 there.
    assert west_clock.warn_at == dt.datetime(2026, 11, 23, 11, 0, tzinfo=new_york)
    sla_services.sla_enforce(now=dt.datetime(2026, 11, 23, 11, 1, tzinfo=new_york))
    east_clock = Clock.objects.get(lead=east)
    west_clock.refresh_from_db()
    # Berlin: 25 % at 12:00, 50 % at 14:00 (both passed by 17:01 Berlin: one warning, no burst).
    assert east_clock.warnings_sent == 2 and east_clock.warn_at is None
    assert (west_clock.warnings_sent, west_clock.warn_at) == (
        1,
        dt.datetime(2026, 11, 23, 13, 0, tzinfo=new_york),
    )


def test_running_clocks_scheduled_in_clock_time_are_scheduled_again(org, make_mql, monday_closed):
    lead = _hand_off(make_mql, berlin(FRIDAY, 16, 30))
    clock = Clock.objects.get(lead=lead)
    old_way = clock.started_at + (clock.due_at - clock.started_at) / 2
    Clock.objects.filter(pk=clock.pk).update(warn_at=old_way)
    done = Clock.objects.get(pk=clock.pk)
    migration = importlib.import_module("sla.migrations.0012_warnings_in_business_time")
    migration.reschedule(apps, None)
    clock.refresh_from_db()
    assert old_way == berlin(dt.date(2026, 11, 29), 16, 30) and done.warn_at == old_way
    assert clock.warn_at == berlin(TUESDAY, 12, 30)


def test_snoozed_follow_up_warns_in_business_time(org, make_sql):
    monday = dt.date(2026, 11, 23)
    with time_machine.travel(berlin(monday, 10), tick=False):
        lead = make_sql()
        services.lead_snooze(
            lead_id=lead.pk, actor=org.rep, until=dt.date(2026, 11, 30), reason="Budget round"
        )
    clock = Clock.objects.get(lead=lead, obligation=Obligation.FOLLOW_UP)
    local = clock.warn_at.astimezone(BERLIN)
    assert local.weekday() < 5 and dt.time(9) <= local.time() <= dt.time(17), local


# --- breaches and meets ---------------------------------------------------------------------------


def test_a_late_meet_never_overwrites_the_breach_enforcement_recorded(org, make_mql):
    """The rep's transaction read the clock before enforcement recorded its breach; its
    write keeps the recorded breach time (DESIGN: each clock breaches at most once)."""
    lead = _hand_off(make_mql, berlin(dt.date(2026, 11, 23), 10))
    stale = Clock.objects.get(lead=lead)
    detected = stale.due_at + dt.timedelta(minutes=5)
    assert sla_services.sla_enforce(now=detected).breached == 1
    sla_services._meet(stale, stale.due_at + dt.timedelta(minutes=10))
    clock = Clock.objects.get(pk=stale.pk)
    assert clock.breached_at == detected
    assert clock.met_at == stale.due_at + dt.timedelta(minutes=10)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_accepting_while_enforcement_records_the_breach_keeps_one_breach_time(
    require_postgres, org, make_mql
):
    lead = _hand_off(make_mql, berlin(dt.date(2026, 11, 23), 10))
    clock = Clock.objects.get(lead=lead)
    detected = clock.due_at + dt.timedelta(minutes=1)
    locked, release = threading.Event(), threading.Event()

    def enforcement():
        try:
            with transaction.atomic():
                # What an enforcement run does: lock the due clock, record its breach, commit.
                Clock.objects.select_for_update().get(pk=clock.pk)
                Clock.objects.filter(pk=clock.pk).update(breached_at=detected, warn_at=None)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=enforcement)
    worker.start()
    assert locked.wait(10)
    timer = threading.Timer(0.5, release.set)
    timer.start()
    with time_machine.travel(clock.due_at + dt.timedelta(minutes=2), tick=False):
        services.lead_accept(lead_id=lead.pk, actor=org.rep)
    worker.join(10)
    clock.refresh_from_db()
    assert clock.breached_at == detected
    assert clock.met_at == clock.due_at + dt.timedelta(minutes=2)


def _follow_up_breached(org, make_sql) -> tuple[Lead, Clock]:
    with time_machine.travel(berlin(dt.date(2026, 11, 23), 10), tick=False):
        lead = make_sql()
    clock = Clock.objects.get(lead=lead, obligation=Obligation.FOLLOW_UP)
    assert sla_services.sla_enforce(now=clock.due_at + dt.timedelta(minutes=1)).breached == 1
    clock.refresh_from_db()
    return lead, clock


def test_a_breached_follow_up_clock_stops(org, make_sql):
    lead, clock = _follow_up_breached(org, make_sql)
    assert not clock.is_running and clock.cancelled_at == clock.breached_at
    SlaPolicy.objects.update(follow_up_touches=1)
    with time_machine.travel(clock.due_at + dt.timedelta(hours=2), tick=False):
        services.touch_log(lead_id=lead.pk, actor=org.rep, kind="call", outcome="connected")
        with pytest.raises(ActionError):
            services.lead_snooze(
                lead_id=lead.pk, actor=org.rep, until=dt.date(2026, 12, 14), reason="Call back later"
            )
    clock.refresh_from_db()
    assert clock.met_at is None  # a touch after the breach does not make it met late
    assert sla_services.sla_enforce(now=clock.due_at + dt.timedelta(days=9)).breached == 0


def test_a_response_clock_breached_keeps_running_until_the_answer(org, make_mql):
    lead = _hand_off(make_mql, berlin(dt.date(2026, 11, 23), 10))
    clock = Clock.objects.get(lead=lead)
    sla_services.sla_enforce(now=clock.due_at + dt.timedelta(minutes=1))
    clock.refresh_from_db()
    assert clock.is_running and clock.breached_at is not None


def test_sla_reassignment_after_a_follow_up_breach_gives_the_new_rep_a_fresh_follow_up(org, make_sql):
    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    lead, clock = _follow_up_breached(org, make_sql)
    moment = clock.due_at + dt.timedelta(minutes=5)
    with time_machine.travel(moment, tick=False):
        sla_tasks.sla_reassign(lead.pk, org.rep.pk, clock.pk)
    lead.refresh_from_db()
    assert lead.owner == org.rep2
    fresh = Clock.objects.running().get(lead=lead)
    assert (fresh.obligation, fresh.owner, fresh.started_at) == (Obligation.FOLLOW_UP, org.rep2, moment)
    assert Clock.objects.get(pk=clock.pk).owner == org.rep  # the breach stays on the first rep's record


def test_a_breach_action_for_a_clock_the_lead_moved_past_does_nothing(org, make_mql):
    """The response clock breached, then the rep accepted before the action ran: the SQL is
    not taken from them, nor sent back to marketing."""
    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    lead = _hand_off(make_mql, berlin(dt.date(2026, 11, 23), 10))
    clock = Clock.objects.get(lead=lead)
    sla_services.sla_enforce(now=clock.due_at + dt.timedelta(minutes=1))
    with time_machine.travel(clock.due_at + dt.timedelta(minutes=2), tick=False):
        services.lead_accept(lead_id=lead.pk, actor=org.rep)
        assert sla_tasks.sla_reassign(lead.pk, org.rep.pk, clock.pk) is False
        assert sla_tasks.sla_return(lead.pk, org.rep.pk, clock.pk) is False
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.SQL, org.rep)
    assert not LeadEvent.objects.filter(lead=lead, type=EventType.REASSIGNED).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sla_reassignment_holds_the_lead_from_check_to_reassignment(
    require_postgres, org, make_mql, monkeypatch
):
    """A manager reassigning the lead while enforcement routes it waits for the SLA
    reassignment, and their choice is what stands (the old code routed in one transaction
    and reassigned in another, taking the lead from the manager's choice)."""
    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    lead = _hand_off(make_mql, berlin(dt.date(2026, 11, 23), 10))
    clock = Clock.objects.get(lead=lead)
    sla_services.sla_enforce(now=clock.due_at + dt.timedelta(minutes=1))
    from leads.services import transitions

    routed, go_on = threading.Event(), threading.Event()
    real_route = transitions.route_mql

    def slow_route(*args, **kwargs):
        result = real_route(*args, **kwargs)
        routed.set()
        go_on.wait(10)
        return result

    monkeypatch.setattr(transitions, "route_mql", slow_route)
    outcome = {}

    def enforcement_action():
        try:
            outcome["sla"] = transitions.lead_sla_reassign(
                lead_id=lead.pk, from_owner_id=org.rep.pk, note="SLA", clock_id=clock.pk
            )
        finally:
            connection.close()

    worker = threading.Thread(target=enforcement_action)
    worker.start()
    assert routed.wait(10)
    threading.Timer(0.5, go_on.set).start()
    started = time.monotonic()
    try:
        services.lead_reassign(lead_id=lead.pk, actor=org.sales_manager, new_owner=org.other_rep)
    except ActionError as exc:
        outcome["manager"] = exc
    waited = time.monotonic() - started
    worker.join(10)
    lead.refresh_from_db()
    assert waited >= 0.4  # the manager's reassignment waited for the SLA one
    assert outcome["sla"] is not None and outcome["sla"].owner == org.rep2
    reassigned = list(
        LeadEvent.objects.filter(lead=lead, type=EventType.REASSIGNED)
        .order_by("id")
        .values_list("data", flat=True)
    )
    assert [d["from_owner"] for d in reassigned][0] == org.rep.pk
    assert lead.owner == (org.other_rep if "manager" not in outcome else org.rep2)


# --- notifications ------------------------------------------------------------------------------------


def test_a_lead_returned_by_enforcement_tells_the_marketer_who_qualified_it(
    org, make_mql, django_capture_on_commit_callbacks
):
    SlaPolicy.objects.update(on_breach=BreachAction.RETURN)
    lead = _hand_off(make_mql, berlin(dt.date(2026, 11, 23), 10))
    clock = Clock.objects.get(lead=lead)
    with django_capture_on_commit_callbacks(execute=True):
        sla_services.sla_enforce(now=clock.due_at + dt.timedelta(minutes=1))
    lead.refresh_from_db()
    assert lead.stage == Stage.LEAD
    returned = LeadEvent.objects.get(lead=lead, type=EventType.RETURNED)
    told = Notification.objects.get(kind=NotificationKind.MQL_RETURNED)
    assert (told.recipient, told.lead_id, told.created_at) == (org.marketer, lead.pk, returned.occurred_at)
    assert "did not respond in time" in told.subject


def test_notify_stores_when_the_thing_happened(org):
    happened = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    made = notify(
        recipient=org.rep,
        kind=NotificationKind.AGREEMENT,
        lead=None,
        dedupe_key="t:1",
        subject="s",
        body="b",
        created_at=happened,
    )
    assert Notification.objects.get(pk=made.pk).created_at == happened


def test_the_sla_pages_breaches_of_a_week_are_those_due_in_it(org, make_mql):
    """After an outage, a breach detected on Monday of week 48 for a clock due on Friday of
    week 47 is one of week 47's breaches, where SLA compliance counts it."""
    from sla import selectors

    lead = _hand_off(make_mql, berlin(dt.date(2026, 11, 19), 15))  # Thursday: due Friday 15:00
    clock = Clock.objects.get(lead=lead)
    sla_services.sla_enforce(now=berlin(dt.date(2026, 11, 23), 9, 30))  # detected on Monday
    assert [c.pk for c in selectors.breaches(dt.date(2026, 11, 16))] == [clock.pk]
    assert list(selectors.breaches(dt.date(2026, 11, 23))) == []


def test_speed_to_lead_runs_from_the_hand_off_after_an_sla_reassignment(org, make_mql):
    """The fresh clock of an SLA reassignment starts late, but the lead has waited since its
    hand-off: the answer stores the business time from the hand-off (DESIGN: speed to lead),
    and clocks answered before this rule are measured again (migration sla 0014)."""
    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    monday = dt.date(2026, 11, 23)
    lead = _hand_off(make_mql, berlin(monday, 10))
    first = Clock.objects.get(lead=lead)
    with time_machine.travel(berlin(monday + dt.timedelta(days=1), 10, 30), tick=False):
        sla_tasks.sla_reassign(lead.pk, org.rep.pk, first.pk)
    with time_machine.travel(berlin(monday + dt.timedelta(days=1), 11), tick=False):
        services.lead_accept(lead_id=lead.pk, actor=org.rep2)
    answered = Clock.objects.get(lead=lead, obligation=Obligation.RESPONSE, met_at__isnull=False)
    assert answered.started_at == berlin(monday + dt.timedelta(days=1), 10, 30)
    assert answered.business_seconds == 9 * 3600  # Mon 10–17 and Tue 9–11, not the half hour since
    Clock.objects.filter(pk=answered.pk).update(business_seconds=1800)  # as the old rule stored it
    migration = importlib.import_module("sla.migrations.0014_speed_from_hand_off")
    migration.remeasure(apps, None)
    assert Clock.objects.get(pk=answered.pk).business_seconds == 9 * 3600
