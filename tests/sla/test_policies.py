"""SLA policies: the first matching one sets the clock; on breach it notifies, reassigns
or returns to marketing, and escalates to the manager when it says so."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from leads import services
from leads.models import EventType, LeadEvent, Stage
from sla.models import BreachAction, Clock, Obligation, SlaPolicy
from sla.services import sla_enforce
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.org.models import Source

MONDAY_10 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin


@pytest.fixture
def hot_policy(db):
    return SlaPolicy.objects.create(
        name="Hot leads",
        priority=1,
        min_score=50,
        response_hours=2,
        warn_percents=[75],
        on_breach=BreachAction.NOTIFY,
    )


def hand_off(org, make_lead, **fields):
    with time_machine.travel(MONDAY_10, tick=False):
        lead = make_lead(**fields)
        return services.lead_qualify(lead_id=lead.pk, actor=org.marketer)


def test_first_matching_policy_sets_the_deadline(org, make_lead, hot_policy):
    SlaPolicy.objects.create(name="Events", priority=2, sources=[Source.EVENT], response_hours=4)
    hot = hand_off(org, make_lead)  # the webinar engagement + profile score well above 50
    assert hot.score >= 50
    clock = Clock.objects.get(lead=hot)
    assert clock.policy == hot_policy and clock.due_at == MONDAY_10 + dt.timedelta(hours=2)
    assert clock.warn_at == MONDAY_10 + dt.timedelta(hours=1.5)
    SlaPolicy.objects.filter(pk=hot_policy.pk).update(is_active=False)
    event = hand_off(org, make_lead, source=Source.EVENT)
    assert Clock.objects.get(lead=event).due_at == MONDAY_10 + dt.timedelta(hours=4)
    other = hand_off(org, make_lead, source=Source.WEBSITE)
    assert Clock.objects.get(lead=other).policy.name == "Default"


def test_breach_reassigns_with_a_new_clock_and_the_breach_stays_with_the_first_owner(
    org, make_lead, hot_policy, django_capture_on_commit_callbacks
):
    SlaPolicy.objects.filter(pk=hot_policy.pk).update(on_breach=BreachAction.REASSIGN)
    org.rep2.membership.is_away = False
    org.rep2.membership.save()
    lead = hand_off(org, make_lead)
    assert lead.owner == org.rep
    later = MONDAY_10 + dt.timedelta(hours=3)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        sla_enforce(now=later)
    lead.refresh_from_db()
    assert lead.owner == org.rep2 and lead.stage == Stage.MQL
    first, second = Clock.objects.filter(lead=lead).order_by("id")
    assert (first.owner, first.breached_at, first.cancelled_at) == (org.rep, later, later)
    assert (second.owner, second.obligation, second.started_at, second.breached_at) == (
        org.rep2,
        Obligation.RESPONSE,
        later,
        None,
    )
    event = LeadEvent.objects.get(lead=lead, type=EventType.REASSIGNED)
    assert event.actor is None and event.data["routing_rule"].startswith("SLA escalation")
    assert Notification.objects.filter(
        kind=NotificationKind.MQL_ASSIGNED, recipient=org.rep2, lead=lead
    ).exists()
    # Running enforcement again changes nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_enforce(now=later + dt.timedelta(minutes=1)).breached == 0
    assert Clock.objects.filter(lead=lead).count() == 2


def test_breach_returns_to_marketing_when_the_policy_says_so(
    org, make_lead, hot_policy, django_capture_on_commit_callbacks
):
    SlaPolicy.objects.filter(pk=hot_policy.pk).update(
        on_breach=BreachAction.RETURN, escalate_to_manager=False
    )
    lead = hand_off(org, make_lead)
    later = MONDAY_10 + dt.timedelta(hours=3)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        sla_enforce(now=later)
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.recycle_count) == (Stage.LEAD, None, 1)
    event = LeadEvent.objects.get(lead=lead, type=EventType.RETURNED)
    assert (event.from_stage, event.to_stage, event.actor) == ("mql", "lead", None)
    clock = Clock.objects.get(lead=lead)
    assert clock.breached_at == later and clock.owner == org.rep
    # No escalation: only the rep hears of the breach.
    breaches = Notification.objects.filter(kind=NotificationKind.SLA_BREACH)
    assert list(breaches.values_list("recipient__username", flat=True)) == ["rep"]


def test_sla_action_is_skipped_if_the_rep_responded_meanwhile(org, make_lead, hot_policy):
    lead = hand_off(org, make_lead)
    services.lead_accept(lead_id=lead.pk, actor=org.rep)
    assert services.lead_return_to_marketing(lead_id=lead.pk, from_owner_id=org.rep.pk) is None
    assert services.lead_sla_reassign(lead_id=lead.pk, from_owner_id=org.rep2.pk) is None
    lead.refresh_from_db()
    assert lead.stage == Stage.SQL and lead.owner == org.rep
