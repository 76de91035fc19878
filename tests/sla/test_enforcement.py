"""Clocks start, meet, cancel; enforcement warns and breaches each clock exactly once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from leads import services
from sla.calendar import BusinessCalendar, add_business_time
from sla.models import Clock, EnforcementRun, Obligation, SlaPolicy
from sla.services import sla_enforce
from smarketing.notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db
MONDAY_10 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin


@pytest.fixture
def handed_off(org, make_mql):
    with time_machine.travel(MONDAY_10, tick=False):
        return make_mql()


def test_hand_off_starts_a_response_clock_in_the_owners_business_time(handed_off, org):
    clock = Clock.objects.get(lead=handed_off)
    expected_due = add_business_time(
        MONDAY_10, dt.timedelta(hours=8), BusinessCalendar(time_zone="Europe/Berlin")
    )
    assert (clock.obligation, clock.owner, clock.started_at) == (Obligation.RESPONSE, org.rep, MONDAY_10)
    assert clock.due_at == expected_due == dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # Tue 10:00 Berlin
    assert clock.started_at < clock.warn_at < clock.due_at


def test_accept_on_time_meets_and_starts_follow_up_met_by_the_nth_touch(handed_off, org):
    SlaPolicy.objects.update(follow_up_touches=2)
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=1), tick=False):
        services.lead_accept(lead_id=handed_off.pk, actor=org.rep)
        services.touch_log(lead_id=handed_off.pk, actor=org.rep, kind="call", outcome="no_answer")
    response = Clock.objects.get(lead=handed_off, obligation=Obligation.RESPONSE)
    assert response.met_on_time and response.breached_at is None
    follow_up = Clock.objects.get(lead=handed_off, obligation=Obligation.FOLLOW_UP)
    assert follow_up.is_running
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=2), tick=False):
        services.touch_log(lead_id=handed_off.pk, actor=org.rep, kind="email", outcome="replied")
    follow_up.refresh_from_db()
    assert follow_up.met_at == MONDAY_10 + dt.timedelta(hours=2)


def test_late_response_is_met_late_and_counted_as_a_breach(handed_off, org, reasons):
    due = Clock.objects.get(lead=handed_off).due_at
    with time_machine.travel(due + dt.timedelta(minutes=30), tick=False):
        services.lead_reject(lead_id=handed_off.pk, actor=org.rep, reason=reasons.rejection)
    clock = Clock.objects.get(lead=handed_off)
    assert clock.met_at == due + dt.timedelta(minutes=30)
    assert clock.breached_at == clock.met_at and not clock.met_on_time


def test_enforcement_warns_at_each_percentage_once_then_breaches_once(
    handed_off, org, django_capture_on_commit_callbacks, mailoutbox
):
    clock = Clock.objects.get(lead=handed_off)
    # 8 business hours from Monday 10:00 Berlin: 50 % is 4 business hours in (14:00 Berlin),
    # 80 % is 6 h 24 min in (16:24 Berlin) — business time, not clock time.
    half, most = MONDAY_10 + dt.timedelta(hours=4), MONDAY_10 + dt.timedelta(hours=6, minutes=24)
    assert (clock.warn_percents, clock.warn_at) == ([50, 80], half)
    # Before the first warning time: nothing
    run = sla_enforce(now=half - dt.timedelta(seconds=1))
    assert (run.warned, run.breached) == (0, 0)
    # At 50 %: warned once, the rep told once; the next warning waits for 80 %
    with django_capture_on_commit_callbacks(execute=True):
        run = sla_enforce(now=half + dt.timedelta(seconds=1))
        again = sla_enforce(now=half + dt.timedelta(seconds=2))
    assert (run.warned, again.warned) == (1, 0)
    clock.refresh_from_db()
    assert (clock.warnings_sent, clock.warn_at) == (1, most)
    with django_capture_on_commit_callbacks(execute=True):
        run = sla_enforce(now=most + dt.timedelta(seconds=1))
        again = sla_enforce(now=most + dt.timedelta(seconds=2))
    assert (run.warned, again.warned) == (1, 0)
    warnings = Notification.objects.filter(kind=NotificationKind.SLA_WARNING)
    assert list(warnings.values_list("recipient__username", flat=True)) == ["rep", "rep"]
    # A late run (workers were down): the breach is recorded once, with its true due time
    detected = clock.due_at + dt.timedelta(hours=5)
    with django_capture_on_commit_callbacks(execute=True):
        run = sla_enforce(now=detected)
        again = sla_enforce(now=detected + dt.timedelta(minutes=1))
    assert (run.breached, again.breached) == (1, 0)
    clock.refresh_from_db()
    assert clock.breached_at == detected and clock.due_at == Clock.objects.get(pk=clock.pk).due_at
    breaches = Notification.objects.filter(kind=NotificationKind.SLA_BREACH)
    assert sorted(breaches.values_list("recipient__username", flat=True)) == ["rep", "smanager"]
    assert len(mailoutbox) == 4  # two warnings, two breach emails
    assert EnforcementRun.objects.count() == 7


def test_warnings_overtaken_during_an_outage_are_not_sent_in_a_burst(handed_off):
    clock = Clock.objects.get(lead=handed_off)
    past_both = clock.started_at + (clock.due_at - clock.started_at) * 0.9
    assert sla_enforce(now=past_both).warned == 1
    clock.refresh_from_db()
    assert (clock.warnings_sent, clock.warn_at) == (2, None)
    assert sla_enforce(now=past_both + dt.timedelta(seconds=1)).warned == 0


def test_batches_are_bounded_and_report_more_due(org, make_mql):
    with time_machine.travel(MONDAY_10, tick=False):
        for n in range(5):
            make_mql(email=f"b{n}@example.com")
    later = MONDAY_10 + dt.timedelta(days=7)
    run = sla_enforce(now=later, batch_size=2)
    assert run.breached == 2 and run.more_due
    assert sla_enforce(now=later, batch_size=2).breached == 2
    last = sla_enforce(now=later, batch_size=2)
    assert last.breached == 1 and not last.more_due


def test_disqualify_cancels_running_clocks_which_never_breach(handed_off, org, reasons):
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=1), tick=False):
        services.lead_disqualify(lead_id=handed_off.pk, actor=org.rep, reason=reasons.disqualification)
    clock = Clock.objects.get(lead=handed_off)
    assert clock.cancelled_at == MONDAY_10 + dt.timedelta(hours=1)
    assert sla_enforce(now=MONDAY_10 + dt.timedelta(days=30)).breached == 0
    assert Clock.objects.get(pk=clock.pk).breached_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_enforcement_runs_at_once_record_each_breach_once(require_postgres, org, make_mql):
    with time_machine.travel(MONDAY_10, tick=False):
        leads = [make_mql(email=f"c{n}@example.com") for n in range(50)]
    now = MONDAY_10 + dt.timedelta(days=7)
    barrier = threading.Barrier(2)
    runs = []

    def run():
        try:
            barrier.wait()
            with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
                runs.append(sla_enforce(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.breached for r in runs) == 50
    assert Clock.objects.filter(lead__in=leads, breached_at__isnull=False).count() == 50
    notes = Notification.objects.filter(kind=NotificationKind.SLA_BREACH)
    assert notes.count() == 100  # rep and manager, once per clock
    assert notes.values("recipient", "dedupe_key").distinct().count() == 100


def test_merge_win_and_lose_end_running_clocks_and_manager_reassign_hands_them_over(
    org, make_mql, make_sql, reasons
):
    merged_away = make_mql(email="away@example.com")
    survivor = make_mql(email="stays@example.com")
    services.lead_merge(survivor_id=survivor.pk, other_id=merged_away.pk, actor=org.sales_manager)
    assert Clock.objects.get(lead=merged_away).cancelled_at is not None
    assert Clock.objects.get(lead=survivor).is_running

    won = make_sql(email="won@example.com")
    services.lead_win(lead_id=won.pk, actor=org.rep, amount="1000", closed_on=dt.date.today())
    lost = make_sql(email="lost@example.com")
    services.lead_lose(lead_id=lost.pk, actor=org.rep, reason=reasons.loss_recycle)
    assert not Clock.objects.running().filter(lead__in=[won, lost]).exists()

    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    due = Clock.objects.get(lead=survivor).due_at
    services.lead_reassign(lead_id=survivor.pk, actor=org.sales_manager, new_owner=org.rep2)
    clock = Clock.objects.get(lead=survivor)
    assert (clock.owner, clock.due_at, clock.cancelled_at) == (
        org.rep2,
        due,
        None,
    )  # same deadline, new owner
