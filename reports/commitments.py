"""Marketing's side of the SLA: a weekly commitment per marketing team, its status from
the event log, and the record of each finished week (written once, after it ends)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from leads.models import EventType, LeadEvent
from reports.models import CommitmentWeek, MarketingCommitment
from smarketing.agreement.changes import agreement_change_record, require_manager
from smarketing.agreement.terms import plural
from smarketing.core.errors import ActionError
from smarketing.core.weeks import monday_of, week_range
from smarketing.notifications.models import NotificationKind
from smarketing.notifications.services import notify
from smarketing.org.models import Membership, Team, TeamKind


def commitment_terms() -> list[dict]:

    return [
        {
            "team": commitment.team.name,
            "min_mqls": commitment.min_mqls,
            "min_acceptance_percent": commitment.min_acceptance_percent,
            "words": (
                f"{commitment.team.name} hands sales at least {plural(commitment.min_mqls, 'MQL')} a week, "
                f"of which sales accepts at least {commitment.min_acceptance_percent} % (of those it answers)."
            ),
        }
        for commitment in MarketingCommitment.objects.filter(is_active=True)
        .select_related("team")
        .order_by("team__name")
    ]


WEEKS_BACK = 8  # how far back a late run still records finished weeks


def week_start(moment: dt.datetime | None = None) -> dt.date:
    """Monday of the ISO week of `moment` (now by default), in the organisation's zone."""
    return monday_of(moment)


@dataclass
class WeekStatus:
    team: Team
    week_start: dt.date
    mqls: int
    accepted: int
    rejected: int
    min_mqls: int
    min_acceptance_percent: int

    @property
    def acceptance_percent(self) -> int | None:
        answered = self.accepted + self.rejected
        return round(100 * self.accepted / answered) if answered else None

    @property
    def volume_met(self) -> bool:
        return self.mqls >= self.min_mqls

    @property
    def quality_met(self) -> bool:
        # No response yet means nothing to judge: quality counts as met.
        percent = self.acceptance_percent
        return percent is None or percent >= self.min_acceptance_percent

    @property
    def met(self) -> bool:
        return self.volume_met and self.quality_met


def _team_filter(team: Team) -> Q:
    members = Membership.objects.filter(team=team).values("user_id")
    only_marketing_team = not Team.objects.filter(kind=TeamKind.MARKETING).exclude(pk=team.pk).exists()
    # Automatic hand-offs (no actor) count for the marketing team when there is only one.
    return Q(actor__in=members) | (Q(actor__isnull=True) if only_marketing_team else Q(pk__in=[]))


def week_status(commitment: MarketingCommitment, monday: dt.date) -> WeekStatus:
    """The week's figures from the event log: MQLs handed off by the team in the week, and
    sales' responses in the week to leads the team handed off (acceptance rate)."""
    start, end = week_range(monday)
    team = commitment.team
    in_week = LeadEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    mqls = in_week.filter(_team_filter(team), type=EventType.QUALIFIED).count()
    qualified_by_team = Q(lead__qualified_by__membership__team=team)
    responses = in_week.filter(qualified_by_team, type__in=[EventType.ACCEPTED, EventType.REJECTED])
    accepted = responses.filter(type=EventType.ACCEPTED).count()
    rejected = responses.filter(type=EventType.REJECTED).count()
    return WeekStatus(
        team=team,
        week_start=monday,
        mqls=mqls,
        accepted=accepted,
        rejected=rejected,
        min_mqls=commitment.min_mqls,
        min_acceptance_percent=commitment.min_acceptance_percent,
    )


def commitments_close_weeks(*, now: dt.datetime | None = None) -> int:
    """Record every finished week not recorded yet (up to WEEKS_BACK back), once each —
    the unique constraint makes a second run or a second beat harmless — and tell the
    marketing manager about a week that fell short. Returns how many weeks were recorded."""

    current = week_start(now)
    recorded = 0
    for commitment in MarketingCommitment.objects.filter(is_active=True).select_related("team__manager"):
        first = week_start(commitment.created_at)
        done = set(CommitmentWeek.objects.filter(team=commitment.team).values_list("week_start", flat=True))
        for back in range(WEEKS_BACK, 0, -1):
            monday = current - dt.timedelta(weeks=back)
            if monday < first or monday in done:
                continue
            status = week_status(commitment, monday)
            try:
                with transaction.atomic():
                    CommitmentWeek.objects.create(
                        team=commitment.team,
                        week_start=monday,
                        mqls=status.mqls,
                        accepted=status.accepted,
                        rejected=status.rejected,
                        min_mqls=status.min_mqls,
                        min_acceptance_percent=status.min_acceptance_percent,
                        met=status.met,
                    )
                    if not status.met and commitment.team.manager is not None:
                        notify(
                            recipient=commitment.team.manager,
                            kind=NotificationKind.SLA_BREACH,
                            lead=None,
                            dedupe_key=f"commitment:{commitment.team_id}:{monday.isoformat()}",
                            subject=f"Marketing SLA missed, week of {monday:%d %b}: {status.mqls} MQLs"
                            f" (agreed {status.min_mqls}), {status.acceptance_percent or 0}% accepted"
                            f" (agreed {status.min_acceptance_percent}%)",
                            body=f"{commitment.team} handed off {status.mqls} MQLs in the week of {monday:%d %b %Y}; "
                            f"sales accepted {status.accepted} and rejected {status.rejected}.",
                        )
            except IntegrityError:
                continue  # recorded already (an earlier run, or another beat)
            recorded += 1
    return recorded


MAX_WEEKLY_MQLS = 1_000_000


@transaction.atomic
def commitment_update(
    *, actor, team_id: int, min_mqls: int, min_acceptance_percent: int, is_active: bool = True
):
    require_manager(actor, "marketing's commitment")
    team = Team.objects.filter(pk=team_id, kind=TeamKind.MARKETING).first()
    if team is None:
        raise ActionError("Commitments belong to marketing teams.", code=ActionError.NOT_FOUND)
    if not isinstance(min_mqls, int) or not 0 <= min_mqls <= MAX_WEEKLY_MQLS:
        raise ActionError(
            f"The weekly number of MQLs is a whole number from 0 to {MAX_WEEKLY_MQLS:,}.", field="min_mqls"
        )
    if not isinstance(min_acceptance_percent, int) or not 0 <= min_acceptance_percent <= 100:
        raise ActionError(
            "The acceptance rate is a percentage from 0 to 100.", field="min_acceptance_percent"
        )
    commitment, created = MarketingCommitment.objects.select_for_update().get_or_create(team=team)
    before = (
        None
        if created
        else {
            "min_mqls": commitment.min_mqls,
            "min_acceptance_percent": commitment.min_acceptance_percent,
            "is_active": commitment.is_active,
        }
    )
    after = {
        "min_mqls": min_mqls,
        "min_acceptance_percent": min_acceptance_percent,
        "is_active": bool(is_active),
    }
    if before == after:
        return commitment
    for name, value in after.items():
        setattr(commitment, name, value)
    commitment.updated_at = timezone.now()
    commitment.save()
    agreement_change_record(
        area="sla",
        actor=actor,
        summary=f"Marketing commitment of {team}: {min_mqls} MQLs a week, {min_acceptance_percent}% accepted",
        before=before,
        after=after,
    )
    return commitment


def terms_sections() -> dict[str, list[dict]]:
    """The agreement's section that the commitment is (connected in `ReportsConfig.ready`)."""
    return {"commitments": commitment_terms()}


def version_operations() -> dict:
    """The change a version of the agreement may make here (`ReportsConfig.ready`)."""
    return {"commitment_update": commitment_update}
