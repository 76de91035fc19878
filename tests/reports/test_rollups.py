"""The dashboard's rollups (reports.rollups) equal a recount of the event log, always.

A seeded random history is played through the services week by week (hand-offs, accepts,
rejects with reasons, re-qualifications, wins, losses, disqualifications by marketing and
by sales, reopenings, SLA returns, reassignments, touches, SLA breaches, merges, a
corrected source, a rep moving team), and after it every
table of the dashboard, for several ranges, must be the same read from the rollups as
counted from the event log (ROLLUPS_ENABLED=False: reports.metrics' queries, the figures'
definition). PostgreSQL only: that is where the rollups are kept (SQLite counts the log).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from leads import services
from leads.models import Lead, LeadEvent, Stage
from reports import dashboard, rollups
from reports.models import DirtyLead, FunnelRollup
from sla import services as sla_services
from smarketing.core.weeks import monday_of
from smarketing.org.models import Membership
from tests.reports.history import BERLIN, W1, attempt

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="rollups are kept on PostgreSQL; SQLite counts the event log"
)
WEEKS = 5


def _at(week: int, hour: int, day: int = 0) -> dt.datetime:
    return dt.datetime.combine(W1 + dt.timedelta(weeks=week, days=day), dt.time(hour), tzinfo=BERLIN)


def _tables(first: dt.date, last: dt.date) -> dict:
    scope = dashboard.scope_for(first, last)
    return {slug: dashboard.table_data(table, scope) for slug, table in dashboard.build(scope).items()}


def _recounted(first: dt.date, last: dt.date) -> dict:
    with override_settings(ROLLUPS_ENABLED=False):
        return _tables(first, last)


def _assert_same(first: dt.date, last: dt.date) -> None:
    rolled, counted = _tables(first, last), _recounted(first, last)
    assert rolled.keys() == counted.keys()
    for slug in counted:
        assert rolled[slug]["rows"] == counted[slug]["rows"], slug
        assert rolled[slug]["links"] == counted[slug]["links"], slug


def _play(org, make_lead, reasons, seed: int) -> list[Lead]:
    """A random but reproducible history over WEEKS weeks; returns the leads."""
    rng = random.Random(seed)
    leads: list[Lead] = []
    for week in range(WEEKS):
        with time_machine.travel(_at(week, 8), tick=False):
            leads += [make_lead(last_name=f"W{week}N{n}") for n in range(rng.randrange(3, 7))]
        for hour in range(9, 17):
            with time_machine.travel(_at(week, hour, day=rng.randrange(0, 5)), tick=False):
                for lead in rng.sample(leads, min(len(leads), 4)):
                    lead.refresh_from_db()
                    _step(rng, org, reasons, lead, leads)
        # Friday evening: the SLA run breaches what is overdue.
        with time_machine.travel(_at(week, 19, day=4), tick=False):
            sla_services.sla_enforce()
    return leads


def _step(rng, org, reasons, lead: Lead, leads: list[Lead]) -> None:
    owner = lead.owner
    if lead.merged_into_id:
        return
    if lead.stage == Stage.LEAD:
        if rng.random() < 0.1:
            attempt(
                services.lead_disqualify, lead_id=lead.pk, actor=org.marketer, reason=reasons.disqualification
            )
        elif rng.random() < 0.08:
            other = rng.choice(leads)
            if other.pk != lead.pk and other.stage == Stage.LEAD and not other.merged_into_id:
                attempt(services.lead_merge, survivor_id=lead.pk, other_id=other.pk, actor=org.admin)
        else:
            attempt(services.lead_qualify, lead_id=lead.pk, actor=org.marketer)
    elif lead.stage == Stage.MQL:
        choice = rng.random()
        if choice < 0.55:
            attempt(services.lead_accept, lead_id=lead.pk, actor=owner)
        elif choice < 0.8:
            attempt(
                services.lead_reject, lead_id=lead.pk, actor=owner, reason=rng.choice(reasons.all_rejections)
            )
        elif choice < 0.87 and owner is not None:
            new = org.rep2 if owner == org.rep else org.rep
            attempt(services.lead_reassign, lead_id=lead.pk, actor=org.sales_manager, new_owner=new)
        elif choice < 0.93 and owner is not None:  # the SLA sends it back (cohort: sent back)
            attempt(services.lead_return_to_marketing, lead_id=lead.pk, from_owner_id=owner.pk)
        elif choice < 0.97:  # sales disqualifies it (cohort: disqualified, or sent back once reopened)
            attempt(services.lead_disqualify, lead_id=lead.pk, actor=owner, reason=reasons.disqualification)
    elif lead.stage == Stage.SQL:
        choice = rng.random()
        if choice < 0.4:
            attempt(services.touch_log, lead_id=lead.pk, actor=owner, kind="call", outcome="connected")
        elif choice < 0.6:
            amount = str(rng.randrange(1, 90) * 500)
            attempt(services.lead_win, lead_id=lead.pk, actor=owner, amount=amount, closed_on=dt.date.today())
        elif choice < 0.8:
            reason = rng.choice([reasons.loss_recycle, reasons.loss_disqualify])
            attempt(services.lead_lose, lead_id=lead.pk, actor=owner, reason=reason)
        elif choice < 0.85:
            attempt(services.lead_disqualify, lead_id=lead.pk, actor=owner, reason=reasons.disqualification)
    elif lead.stage == Stage.DISQUALIFIED and rng.random() < 0.3:  # marketing reopens it
        attempt(services.lead_reopen, lead_id=lead.pk, actor=org.marketer)


@pytest.fixture
def all_rejections(reasons):
    from smarketing.agreement.models import Reason, ReasonKind

    reasons.all_rejections = list(Reason.objects.filter(kind=ReasonKind.REJECTION))
    return reasons


@pytest.mark.parametrize("seed", [1, 2])
def test_every_table_equals_the_event_log_recount(org, make_lead, all_rejections, seed):
    reasons = all_rejections
    leads = _play(org, make_lead, reasons, seed)
    played = set(LeadEvent.objects.values_list("type", flat=True).distinct())
    assert {"rejected", "won", "lost", "returned", "disqualified", "reopened"} <= played, played
    last = W1 + dt.timedelta(weeks=WEEKS - 1)
    with time_machine.travel(_at(WEEKS, 9), tick=False):
        for first, to in [(W1, last), (W1, W1), (W1 + dt.timedelta(weeks=1), last), (last, last)]:
            _assert_same(first, to)
        # Data corrected after the fact: a lead's first touch, and a rep moving team.
        Lead.objects.filter(pk=leads[0].pk).update(source="partner")
        Membership.objects.filter(user=org.rep2).update(team=org.other_sales)
        _assert_same(W1, last)
        _assert_same(W1 + dt.timedelta(weeks=2), last)


def test_a_rebuild_equals_the_rollup_kept_up_to_date(org, make_lead, all_rejections):
    _play(org, make_lead, all_rejections, seed=3)
    assert rollups.catch_up() > 0

    def state():
        rows = FunnelRollup.objects.exclude(leads=0, n=0, a=0, b=0, c=0, amount=0)
        return sorted(
            rows.values_list("kind", "week", "prev", "k1", "k2", "leads", "n", "a", "b", "c", "amount")
        )

    kept = state()
    assert kept
    rollups.rebuild()
    assert state() == kept


def test_writes_mark_their_lead_in_their_own_transaction(org, make_lead):
    lead = make_lead(last_name="Marked")
    rollups.catch_up()
    assert not DirtyLead.objects.exists()
    Lead.objects.filter(pk=lead.pk).update(score=99)  # not a figure: no mark
    assert not DirtyLead.objects.exists()
    with transaction.atomic():
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
        assert DirtyLead.objects.filter(lead_id=lead.pk).exists()
        transaction.set_rollback(True)
    assert not DirtyLead.objects.exists()  # rolled back with the change it marked
    services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    assert list(DirtyLead.objects.values_list("lead_id", flat=True)) == [lead.pk]
    assert rollups.ready() and not DirtyLead.objects.exists()


def test_too_many_changed_leads_count_from_the_event_log_until_caught_up(org, make_lead, all_rejections):
    leads = [make_lead(last_name=f"Many{n}") for n in range(4)]
    rollups.catch_up()
    for lead in leads:
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    with override_settings(ROLLUP_READ_REFRESH_LIMIT=2):
        assert not rollups.ready()  # nothing refreshed: still four dirty
        assert DirtyLead.objects.count() == 4
        weekly = _tables(monday_of(None), monday_of(None))["weekly"]
    assert weekly["rows"][0]["mql"] == 4  # counted from the event log, exact all the same
    from reports.tasks import reports_rollups_catch_up

    assert reports_rollups_catch_up() == 4
    assert rollups.ready()
    assert _tables(monday_of(None), monday_of(None))["weekly"] == weekly


def test_the_refresh_costs_the_same_statements_for_one_lead_or_many(org, make_lead):
    def statements(count: int) -> int:
        leads = [make_lead(last_name=f"Batch{count}-{n}") for n in range(count)]
        rollups.catch_up()
        for lead in leads:
            services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
        with CaptureQueriesContext(connection) as queries:
            assert rollups.catch_up() == count
        return len(queries)

    assert statements(1) == statements(12)
