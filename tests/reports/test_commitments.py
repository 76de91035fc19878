"""Marketing's side: the weekly commitment, its status from the event log, and each
finished week recorded once, with the manager told when it fell short."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads import services
from reports import commitments
from reports.models import CommitmentWeek, MarketingCommitment
from smarketing.core.errors import ActionError
from smarketing.notifications.models import Notification, NotificationKind

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = dt.datetime(2026, 11, 16, 10, 0, tzinfo=BERLIN)  # ISO week 47


@pytest.fixture
def committed(org):
    with time_machine.travel(MONDAY - dt.timedelta(days=7), tick=False):
        return commitments.commitment_update(
            actor=org.marketing_manager, team_id=org.marketing.pk, min_mqls=3, min_acceptance_percent=50
        )


def test_week_status_counts_handoffs_and_responses_from_the_event_log(org, make_lead, reasons, committed):
    with time_machine.travel(MONDAY, tick=False):
        handed = [services.lead_qualify(lead_id=make_lead().pk, actor=org.marketer) for _ in range(2)]
        services.lead_accept(lead_id=handed[0].pk, actor=org.rep)
        services.lead_reject(lead_id=handed[1].pk, actor=org.rep, reason=reasons.rejection)
    with time_machine.travel(MONDAY + dt.timedelta(days=7), tick=False):  # next week: not counted
        services.lead_qualify(lead_id=make_lead().pk, actor=org.marketer2)
    status = commitments.week_status(committed, MONDAY.date())
    assert (status.mqls, status.accepted, status.rejected, status.acceptance_percent) == (2, 1, 1, 50)
    assert not status.volume_met and status.quality_met and not status.met


def test_finished_weeks_are_recorded_once_and_a_miss_is_flagged(org, make_lead, committed, mailoutbox):
    with time_machine.travel(MONDAY, tick=False):
        for _ in range(3):
            services.lead_qualify(lead_id=make_lead().pk, actor=org.marketer)
    # During week 47 only the finished week 46 (the commitment started in it) is recorded.
    assert commitments.commitments_close_weeks(now=MONDAY + dt.timedelta(days=3)) == 1  # only week 46
    week46 = CommitmentWeek.objects.get(week_start=dt.date(2026, 11, 9))
    assert (week46.mqls, week46.met) == (0, False)
    missed = Notification.objects.get(kind=NotificationKind.SLA_BREACH, recipient=org.marketing_manager)
    assert "week of 09 Nov" in missed.subject and "agreed 3" in missed.subject
    # After week 47 ends: recorded once, met; running again (two beats) adds nothing.
    after = MONDAY + dt.timedelta(days=7, hours=1)
    assert commitments.commitments_close_weeks(now=after) == 1
    assert commitments.commitments_close_weeks(now=after) == 0
    week47 = CommitmentWeek.objects.get(week_start=dt.date(2026, 11, 16))
    assert (week47.mqls, week47.met, week47.min_mqls) == (3, True, 3)
    assert Notification.objects.filter(kind=NotificationKind.SLA_BREACH).count() == 1


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_only_managers_set_the_commitment(org, who):
    with pytest.raises(ActionError):
        commitments.commitment_update(
            actor=getattr(org, who), team_id=org.marketing.pk, min_mqls=1, min_acceptance_percent=1
        )
    assert not MarketingCommitment.objects.exists()


def test_commitment_validation(org):
    with pytest.raises(ActionError, match="percentage"):
        commitments.commitment_update(
            actor=org.marketing_manager, team_id=org.marketing.pk, min_mqls=5, min_acceptance_percent=140
        )
    with pytest.raises(ActionError, match="marketing teams"):
        commitments.commitment_update(
            actor=org.marketing_manager, team_id=org.sales.pk, min_mqls=5, min_acceptance_percent=50
        )
