"""The demo works any day, any hour, and tells a true story (issue 22).

Seeded at Sunday 23:58 and at Monday 00:10 (the hours a first run found empty queues and a
missing proposal): every rep has MQLs waiting, an agreement change is proposed on the
previous business day, inboxes hold a few unread messages, and every lead's history is a
path the transition table allows, in non-decreasing time, all before the seed's "now" —
what a service queued after its commit (an SLA reassignment, say) happened at its moment,
not at the wall clock's.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from leads.models import Lead, LeadEvent, Stage, Touch
from leads.stages import TRANSITIONS
from smarketing.agreement import versions
from smarketing.demo.management.commands.seed_demo import UNREAD_KEPT
from smarketing.notifications.models import Notification
from smarketing.org.roles import Role

ALLOWED = {
    (t.event, source, target) for t in TRANSITIONS.values() for source in t.sources for target in t.targets
}
ALLOWED |= {(t.event, source, source) for t in TRANSITIONS.values() if not t.targets for source in t.sources}
REASSIGNS = {TRANSITIONS["reassign"].event}


MOMENTS = ["2026-12-06T23:58:00+01:00", "2026-12-07T00:10:00+01:00"]


@pytest.mark.django_db(transaction=True)  # real commits: what services queue after them runs
@pytest.mark.parametrize("moment", MOMENTS, ids=["sunday-2358", "monday-0010"])
def test_the_demo_seeded_at_any_hour_tells_a_true_story(product_setup, default_rules, moment):
    call_command(
        "seed_demo",
        *("--leads", "400", "--weeks", "4", "--now", moment, "--no-logins"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    now = dt.datetime.fromisoformat(moment)
    unread = unread_counts()
    found = {
        "reps with no MQL waiting": reps_without_waiting_mqls(),
        "proposal not on the Friday before": proposal_day(now) != dt.date(2026, 12, 4),
        "inboxes full of unread": not unread or max(unread.values()) > UNREAD_KEPT,
        "impossible histories": impossible_histories(now),
        "touches by someone not the owner then": touches_by_others(),
    }
    assert not any(found.values()), {problem: what for problem, what in found.items() if what}


def reps_without_waiting_mqls() -> list[str]:
    from django.contrib.auth import get_user_model

    reps = get_user_model().objects.filter(groups__name=Role.SALES_REP)
    waiting = dict(
        Lead.objects.live().filter(stage=Stage.MQL).values_list("owner").annotate(n=Count("id")).order_by()
    )
    assert reps.count() == 6
    return [rep.username for rep in reps if not waiting.get(rep.pk)]


def proposal_day(now: dt.datetime) -> dt.date | None:
    proposed = versions.version_proposed()
    return proposed.proposed_at.astimezone(now.tzinfo).date() if proposed else None


def unread_counts() -> dict[int, int]:
    rows = Notification.objects.filter(read_at__isnull=True).values_list("recipient").annotate(n=Count("id"))
    return dict(rows.order_by())


def impossible_histories(now: dt.datetime) -> list[str]:
    wrong = []
    for lead in Lead.objects.all():
        stage, at = "", None
        for event in LeadEvent.objects.filter(lead=lead).order_by("occurred_at", "id"):
            if event.occurred_at > now:
                wrong.append(f"{lead.pk}: {event.type} at {event.occurred_at}, after now")
            if at is not None and event.occurred_at < at:
                wrong.append(f"{lead.pk}: {event.type} before the event it follows")
            moved = event.to_stage and event.from_stage != event.to_stage
            if event.from_stage and event.from_stage != stage:
                wrong.append(f"{lead.pk}: {event.type} from {event.from_stage}, but the lead was {stage}")
            if (
                moved
                and event.type != "created"
                and (event.type, event.from_stage, event.to_stage) not in ALLOWED
            ):
                wrong.append(f"{lead.pk}: {event.type} {event.from_stage}→{event.to_stage} is no transition")
            if event.type in REASSIGNS and event.from_stage not in TRANSITIONS["reassign"].sources:
                wrong.append(f"{lead.pk}: reassigned while {event.from_stage}")
            stage, at = event.to_stage or stage, event.occurred_at
        if not lead.merged_into_id and stage != lead.stage:
            wrong.append(f"{lead.pk}: the events end in {stage}, the lead is {lead.stage}")
    return wrong[:20]


def touches_by_others() -> list[str]:
    """Touches logged by someone other than the rep who owned the SQL at the time."""
    wrong = []
    for touch in Touch.objects.select_related("lead"):
        owner = None
        for event in LeadEvent.objects.filter(lead=touch.lead, occurred_at__lte=touch.occurred_at).order_by(
            "occurred_at", "id"
        ):
            if "owner" in (event.data or {}):  # a hand-off's routed rep, a reassignment's new one
                owner = event.data["owner"]
        if owner is not None and owner != touch.by_id:
            wrong.append(f"touch {touch.pk} on lead {touch.lead_id} by {touch.by_id}, owner then {owner}")
    return wrong[:20]
