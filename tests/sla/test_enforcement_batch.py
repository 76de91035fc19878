"""One enforcement run records a whole batch of due clocks at once: what a set-based run
could get wrong. Warnings and breaches of every kind in one batch, each recorded and told
once; a clock met while the run waits for it; two runs at once; warnings overtaken by
time; the escalation to the manager; a bounded number of queries whatever the batch."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from leads.models import Lead, Stage
from sla import services as sla_services
from sla.calendar import BusinessCalendar, add_business_time
from sla.models import BreachAction, Clock, Obligation, SlaPolicy
from sla.services import EnforcementConflict, sla_enforce
from smarketing.notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db
MONDAY_10 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin
BERLIN_HOURS = BusinessCalendar(time_zone="Europe/Berlin")  # the reps' calendar (the default)


def at(hours: float) -> dt.datetime:
    """The moment `hours` of business time after (before, when negative) NOW: clocks are
    placed in business time, as warnings are timed in it."""
    return add_business_time(MONDAY_9, dt.timedelta(hours=20 + hours), BERLIN_HOURS)


MONDAY_9 = MONDAY_10 - dt.timedelta(hours=1)
NOW = at(0)  # Wednesday 13:00 in Berlin
HOUR = dt.timedelta(hours=1)


def running_clock(lead, obligation=Obligation.RESPONSE) -> Clock:
    return Clock.objects.running().get(lead=lead, obligation=obligation)


def place(clock: Clock, *, started: dt.datetime, due: dt.datetime, sent: int = 0, policy=None) -> Clock:
    """Put a clock at a point of its life: started, due, `sent` warnings out (at 50 and 80 %)."""
    schedule = sla_services._schedule(started, due, [50, 80], BERLIN_HOURS)
    Clock.objects.filter(pk=clock.pk).update(
        started_at=started,
        due_at=due,
        warn_percents=[50, 80],
        warnings_sent=sent,
        warn_at=schedule[sent] if sent < len(schedule) else None,
        **({"policy": policy} if policy is not None else {}),
    )
    clock.refresh_from_db()
    return clock


def overdue(clock: Clock, policy=None) -> Clock:
    return place(clock, started=at(-10), due=at(-1), sent=2, policy=policy)


def told(clock: Clock, kind: str) -> dict[str, list[str]]:
    """Who was told about a clock, by dedupe key."""
    out: dict[str, list[str]] = {}
    notes = Notification.objects.filter(kind=kind, dedupe_key__startswith=f"clock:{clock.pk}")
    for key, username in notes.order_by("recipient__username").values_list(
        "dedupe_key", "recipient__username"
    ):
        if key == f"clock:{clock.pk}" or key.startswith(f"clock:{clock.pk}:"):
            out.setdefault(key, []).append(username)
    return out


@pytest.fixture
def mqls(org, make_mql):
    """n MQLs of `rep`, their response clocks at 10 % (nothing due) until a test places them."""

    def make(n: int) -> list[Lead]:
        with time_machine.travel(MONDAY_10, tick=False):
            leads = [make_mql() for _ in range(n)]
        for lead in leads:
            place(running_clock(lead), started=at(-1), due=at(9))
        return leads

    return make


def test_one_batch_mixes_warnings_and_every_breach_action(
    org, mqls, make_sql, django_capture_on_commit_callbacks, mailoutbox
):
    org.rep2.membership.is_away = False
    org.rep2.membership.assigned_count = 100  # routing keeps giving new MQLs to `rep`
    org.rep2.membership.save()
    notified, reassigned, returned, warned_first, warned_late = mqls(5)
    with time_machine.travel(MONDAY_10, tick=False):
        followed_up = make_sql()  # a follow-up clock: "return to marketing" is for MQLs only
    # Policies without conditions (after the hand-offs, so that these clocks keep the Default)
    reassign = SlaPolicy.objects.create(
        name="Reassign", priority=5, on_breach=BreachAction.REASSIGN, escalate_to_manager=False
    )
    give_back = SlaPolicy.objects.create(name="Return", priority=6, on_breach=BreachAction.RETURN)
    clocks = {
        "notify": overdue(running_clock(notified)),  # the Default policy: notify, escalate
        "reassign": overdue(running_clock(reassigned), reassign),
        "return": overdue(running_clock(returned), give_back),
        "follow_up": overdue(running_clock(followed_up, Obligation.FOLLOW_UP), give_back),
        # Past 50 % only; past 80 % with no warning out yet (after an outage)
        "warn": place(running_clock(warned_first), started=at(-3), due=at(1)),
        "warn_late": place(running_clock(warned_late), started=at(-9), due=at(1)),
    }

    with django_capture_on_commit_callbacks() as callbacks:
        run = sla_enforce(now=NOW)
    assert (run.breached, run.warned, run.more_due) == (4, 2, False)
    assert len(callbacks) == 2  # the batch's emails and its breach actions: one message each
    assert not Lead.objects.filter(pk=reassigned.pk).exclude(owner=org.rep).exists()  # not before commit
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    for name in ("notify", "reassign", "return", "follow_up"):
        assert Clock.objects.get(pk=clocks[name].pk).breached_at == NOW, name
    breach = NotificationKind.SLA_BREACH
    assert told(clocks["notify"], breach) == {f"clock:{clocks['notify'].pk}": ["rep", "smanager"]}
    assert told(clocks["reassign"], breach) == {f"clock:{clocks['reassign'].pk}": ["rep"]}
    assert told(clocks["return"], breach) == {f"clock:{clocks['return'].pk}": ["rep", "smanager"]}
    assert told(clocks["follow_up"], breach) == {f"clock:{clocks['follow_up'].pk}": ["rep", "smanager"]}
    warn = NotificationKind.SLA_WARNING
    assert told(clocks["warn"], warn) == {f"clock:{clocks['warn'].pk}:warn:0": ["rep"]}
    assert told(clocks["warn_late"], warn) == {f"clock:{clocks['warn_late'].pk}:warn:0": ["rep"]}
    assert not Notification.objects.filter(
        kind=warn, dedupe_key__in=[f"clock:{c.pk}" for c in clocks.values()]
    )
    # The breach actions ran once each, after commit
    assert Lead.objects.get(pk=reassigned.pk).owner == org.rep2
    assert Lead.objects.values_list("stage", "owner").get(pk=returned.pk) == (Stage.LEAD, None)
    assert Lead.objects.values_list("stage", "owner").get(pk=followed_up.pk) == (Stage.SQL, org.rep.pk)
    assert Lead.objects.values_list("stage", "owner").get(pk=notified.pk) == (Stage.MQL, org.rep.pk)
    # Every SLA notification emailed, once
    sla_notes = Notification.objects.filter(kind__in=[breach, warn])
    assert sla_notes.count() == 9 and not sla_notes.filter(emailed_at__isnull=True).exists()
    assert len([m for m in mailoutbox if m.subject.startswith("SLA")]) == 9


def test_warnings_overtaken_by_time_send_one_warning_and_move_to_the_next_time(mqls):
    before, first, both_passed, second = (running_clock(lead) for lead in mqls(4))
    start = at(-5)
    place(before, started=at(-1), due=at(9))  # 10 %: nothing yet
    place(first, started=at(-6), due=at(4))  # 60 %: the first warning
    place(both_passed, started=at(-9), due=at(1))  # 90 %, none sent: one, not two
    place(second, started=start, due=at(1), sent=1)  # 83 %, one sent: the second

    run = sla_enforce(now=NOW)

    assert (run.warned, run.breached) == (3, 0)
    after = {c.pk: Clock.objects.get(pk=c.pk) for c in (before, first, both_passed, second)}
    assert (after[before.pk].warnings_sent, after[before.pk].warn_at, after[before.pk].warned_at) == (
        0,
        before.warn_at,
        None,
    )
    first_80 = add_business_time(first.started_at, 8 * HOUR, BERLIN_HOURS)  # 80 % of 10 business hours
    assert (after[first.pk].warnings_sent, after[first.pk].warn_at) == (1, first_80)
    assert (after[both_passed.pk].warnings_sent, after[both_passed.pk].warn_at) == (2, None)
    assert (after[second.pk].warnings_sent, after[second.pk].warn_at) == (2, None)
    assert {c.warned_at for c in after.values() if c.pk != before.pk} == {NOW}
    keys = set(
        Notification.objects.filter(kind=NotificationKind.SLA_WARNING).values_list("dedupe_key", flat=True)
    )
    assert keys == {f"clock:{first.pk}:warn:0", f"clock:{both_passed.pk}:warn:0", f"clock:{second.pk}:warn:1"}
    assert sla_enforce(now=NOW + dt.timedelta(seconds=1)).warned == 0


def test_a_clock_due_for_a_warning_and_its_breach_at_once_is_only_breached(mqls):
    (lead,) = mqls(1)
    clock = place(running_clock(lead), started=at(-10), due=at(-1))  # no warning out yet
    run = sla_enforce(now=NOW)
    assert (run.breached, run.warned) == (1, 0)
    assert not Notification.objects.filter(kind=NotificationKind.SLA_WARNING).exists()
    assert Clock.objects.get(pk=clock.pk).warn_at is None


def test_the_breach_escalates_to_the_owners_manager_as_the_policy_says(org, mqls):
    escalating, not_escalating, managers_own, inactive_manager = mqls(4)
    quiet = SlaPolicy.objects.create(name="Quiet", priority=5, escalate_to_manager=False)
    clocks = [
        overdue(running_clock(escalating)),
        overdue(running_clock(not_escalating), quiet),
        overdue(running_clock(managers_own)),
    ]
    # The manager's own clock: told once, not twice
    Clock.objects.filter(pk=clocks[2].pk).update(owner=org.sales_manager)
    sla_enforce(now=NOW)
    breach = NotificationKind.SLA_BREACH
    assert told(clocks[0], breach) == {f"clock:{clocks[0].pk}": ["rep", "smanager"]}
    assert told(clocks[1], breach) == {f"clock:{clocks[1].pk}": ["rep"]}
    assert told(clocks[2], breach) == {f"clock:{clocks[2].pk}": ["smanager"]}
    # A manager who left (inactive) is not told; the rep still is
    org.sales_manager.is_active = False
    org.sales_manager.save()
    last = overdue(running_clock(inactive_manager))
    assert sla_enforce(now=NOW).breached == 1
    assert told(last, breach) == {f"clock:{last.pk}": ["rep"]}
    # Warnings go to the owner only
    assert not Notification.objects.filter(kind=NotificationKind.SLA_WARNING).exists()


def test_a_notification_that_exists_already_is_neither_created_nor_emailed_again(
    org, mqls, django_capture_on_commit_callbacks, mailoutbox
):
    first, second = (overdue(running_clock(lead)) for lead in mqls(2))
    Notification.objects.create(
        recipient=org.rep, kind=NotificationKind.SLA_BREACH, lead=first.lead, dedupe_key=f"clock:{first.pk}",
        subject="Told before", body="",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_enforce(now=NOW).breached == 2
    notes = Notification.objects.filter(kind=NotificationKind.SLA_BREACH, recipient=org.rep)
    assert notes.get(dedupe_key=f"clock:{first.pk}").subject == "Told before"
    assert notes.filter(dedupe_key=f"clock:{second.pk}").count() == 1
    # The manager's first notification, and both of the second clock
    assert sorted(m.to[0] for m in mailoutbox) == sorted([org.sales_manager.email] * 2 + [org.rep.email])


def test_batches_of_warnings_are_bounded_too(mqls):
    for lead in mqls(5):
        place(running_clock(lead), started=at(-6), due=at(4))
    runs = [sla_enforce(now=NOW, batch_size=2) for _ in range(3)]
    assert [(r.warned, r.more_due) for r in runs] == [(2, True), (2, True), (1, False)]
    assert Notification.objects.filter(kind=NotificationKind.SLA_WARNING).count() == 5


def test_a_run_takes_the_same_few_queries_whatever_its_batch(mqls, django_assert_max_num_queries):
    leads = mqls(24)
    for lead in leads[:12]:
        overdue(running_clock(lead))
    for lead in leads[12:]:
        place(running_clock(lead), started=at(-6), due=at(4))
    with django_assert_max_num_queries(12):
        run = sla_enforce(now=NOW)
    assert (run.breached, run.warned) == (12, 12)


def test_a_run_records_nothing_if_a_clock_it_selected_changed_before_its_update(mqls, monkeypatch):
    """Locks make this impossible; if it ever happened, the run records nothing rather
    than tell someone about a breach it did not record."""
    first, second = (overdue(running_clock(lead)) for lead in mqls(2))
    select = sla_services._due_locked

    def select_then_the_rep_responds(due, order, limit):
        clocks = select(due, order, limit)
        Clock.objects.filter(pk=second.pk).update(met_at=NOW)
        return clocks

    monkeypatch.setattr(sla_services, "_due_locked", select_then_the_rep_responds)
    with pytest.raises(EnforcementConflict):
        sla_enforce(now=NOW)
    assert not Clock.objects.filter(pk__in=[first.pk, second.pk], breached_at__isnull=False).exists()
    assert not Notification.objects.filter(kind=NotificationKind.SLA_BREACH).exists()
    monkeypatch.undo()
    assert sla_enforce(now=NOW).breached == 2  # second is still running: the met above was rolled back


# --- real concurrency (PostgreSQL) -------------------------------------------------------------


def other_connection():
    import psycopg2

    db = connection.settings_dict
    conn = psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"] or "postgres",
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    )
    return conn


def in_thread(target) -> tuple[threading.Thread, list]:
    out: list = []

    def run():
        try:
            with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
                out.append(target())
        except Exception as exc:  # surfaced by the test's assertions
            out.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE '%%sla_clock%%'"
        )
        return cursor.fetchone()[0] > 0


def wait_until(condition, seconds: float = 20) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_clock_met_while_the_run_waits_for_it_is_neither_breached_nor_told(require_postgres, mqls):
    first, met, last = (overdue(running_clock(lead)) for lead in mqls(3))
    # The rep responds: their transaction has written the clock's met time, not committed yet.
    rep = other_connection()
    rep.cursor().execute("UPDATE sla_clock SET met_at = %s WHERE id = %s", [NOW, met.pk])
    thread, runs = in_thread(lambda: sla_enforce(now=NOW))
    wait_until(waiting_for_a_lock)  # the run selected the due clocks and waits for that one
    rep.commit()
    rep.close()
    thread.join(30)

    (run,) = runs
    assert run.breached == 2
    assert Clock.objects.get(pk=met.pk).breached_at is None
    assert set(Clock.objects.filter(breached_at=NOW).values_list("id", flat=True)) == {first.pk, last.pk}
    keys = set(
        Notification.objects.filter(kind=NotificationKind.SLA_BREACH).values_list("dedupe_key", flat=True)
    )
    assert keys == {f"clock:{first.pk}", f"clock:{last.pk}"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_warn_and_breach_each_clock_once(require_postgres, mqls):
    leads = mqls(40)
    for lead in leads[:20]:
        overdue(running_clock(lead))
    for lead in leads[20:]:
        place(running_clock(lead), started=at(-6), due=at(4))
    barrier = threading.Barrier(2)

    def enforce():
        barrier.wait()
        return sla_enforce(now=NOW)

    started = [in_thread(enforce) for _ in range(2)]
    for thread, _ in started:
        thread.join(60)
    runs = [out[0] for _, out in started]
    assert not [r for r in runs if isinstance(r, Exception)], runs
    assert sum(r.breached for r in runs) == 20 and sum(r.warned for r in runs) == 20
    assert Clock.objects.filter(breached_at=NOW).count() == 20
    assert Clock.objects.filter(warnings_sent=1, warned_at=NOW).count() == 20
    notes = Notification.objects.filter(kind__in=[NotificationKind.SLA_BREACH, NotificationKind.SLA_WARNING])
    assert notes.filter(kind=NotificationKind.SLA_BREACH).count() == 40  # rep and manager
    assert notes.filter(kind=NotificationKind.SLA_WARNING).count() == 20
    assert notes.values("recipient", "kind", "dedupe_key").distinct().count() == 60
