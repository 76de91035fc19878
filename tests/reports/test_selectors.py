"""Funnel as of a date, rebuilt from the event log."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from leads import services
from leads.models import Stage
from leads.selectors import funnel_as_of, stage_as_of

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def at(days: float) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def test_funnel_as_of_rebuilds_each_moment(org, make_lead, reasons):
    # Given: A is qualified, rejected and re-qualified; B becomes a customer; C stays a lead
    with time_machine.travel(at(0), tick=False):
        a, b = make_lead(email="a@example.com"), make_lead(email="b@example.com")
    with time_machine.travel(at(1), tick=False):
        services.lead_qualify(lead_id=a.pk, actor=org.marketer)
        services.lead_qualify(lead_id=b.pk, actor=org.marketer)
    with time_machine.travel(at(1.1), tick=False):
        services.lead_reject(lead_id=a.pk, actor=org.rep, reason=reasons.rejection)
        services.lead_accept(lead_id=b.pk, actor=org.rep)
    with time_machine.travel(at(2), tick=False):
        services.lead_qualify(lead_id=a.pk, actor=org.marketer, note="New budget")
        c = make_lead(email="c@example.com")
    with time_machine.travel(at(3), tick=False):
        services.lead_win(lead_id=b.pk, actor=org.rep, amount=100, closed_on=at(3).date())

    # Then: each moment shows the stages of that moment
    assert funnel_as_of(at(-1)) == dict.fromkeys(Stage.values, 0)
    assert funnel_as_of(at(0.5))["lead"] == 2
    assert stage_as_of(at(1.05)) == {a.pk: Stage.MQL, b.pk: Stage.MQL}
    assert stage_as_of(at(1.5)) == {a.pk: Stage.LEAD, b.pk: Stage.SQL}
    assert stage_as_of(at(2.5)) == {a.pk: Stage.MQL, b.pk: Stage.SQL, c.pk: Stage.LEAD}
    assert funnel_as_of(at(4)) == {"lead": 1, "mql": 1, "sql": 0, "customer": 1, "disqualified": 0}


def test_merged_pointer_is_not_counted(org, make_lead):
    with time_machine.travel(at(0), tick=False):
        a, b = make_lead(email="a@example.com"), make_lead(email="b@example.com")
        services.lead_merge(survivor_id=a.pk, other_id=b.pk, actor=org.marketer)
    assert stage_as_of(at(1)) == {a.pk: Stage.LEAD}
