"""Marketing's side of the SLA: a weekly commitment per marketing team, the history of its
terms, each week's figures from the event log, and the record of each finished week.

One rule each, in one place:

- **Terms.** `CommitmentTerms` is the history of what was agreed, from when; a week is
  judged by the terms in force at its start (Monday 00:00 org time), whenever it is looked
  at or recorded (`terms_at`). A week with no terms in force at its start, or with the
  commitment switched off then, is not judged.
- **Figures.** A week's MQLs and responses come from the event log (`week_figures`, two
  grouped queries per team for any number of weeks), so a finished week's result is known
  the moment it ends. Recording it (`CommitmentWeek`, by the hourly job) only freezes it:
  from then on the recorded figures are shown, and a recomputation that differs is shown
  beside them as late data.
- **Verdict and pace.** A finished week is kept or missed; the current week is not judged
  yet: it is on track or behind (`WeekStatus.status`, the rule in docs/decisions.md).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from leads.models import EventType, LeadEvent
from reports.models import CommitmentTerms, CommitmentWeek, MarketingCommitment
from sla.calendar import BusinessCalendar, business_time_between
from sla.services import calendars_of_teams
from smarketing.agreement.changes import agreement_change_record, require_manager
from smarketing.agreement.terms import plural
from smarketing.core import formats
from smarketing.core.errors import ActionError
from smarketing.core.weeks import monday_of, org_tz, week_range
from smarketing.notifications.models import NotificationKind
from smarketing.notifications.services import notify
from smarketing.org.models import Membership, Team, TeamKind

KEPT, MISSED, ON_TRACK, BEHIND = "kept", "missed", "on track", "behind"
CLOSE_BATCH = 104  # weeks one run of the close job records at most (two years of one team)


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


def week_start(moment: dt.datetime | None = None) -> dt.date:
    """Monday of the ISO week of `moment` (now by default), in the organisation's zone."""
    return monday_of(moment)


# --- the terms in force ---------------------------------------------------------------------------


def terms_history(team_ids: Iterable[int] | None = None) -> dict[int, list[CommitmentTerms]]:
    """Each team's terms, oldest first, by team id (one query; each row with its team and
    the team's manager)."""
    rows = CommitmentTerms.objects.select_related("team__manager").order_by("team_id", "in_force_from", "id")
    if team_ids is not None:
        rows = rows.filter(team_id__in=list(team_ids))
    history: dict[int, list[CommitmentTerms]] = {}
    for row in rows:
        history.setdefault(row.team_id, []).append(row)
    return history


def terms_at(history: list[CommitmentTerms], moment: dt.datetime) -> CommitmentTerms | None:
    """The terms in force at `moment`: the last change made at or before it. None when there
    was none yet, or when the commitment was switched off then."""
    position = bisect_right([row.in_force_from for row in history], moment)
    if position == 0:
        return None
    terms = history[position - 1]
    return terms if terms.is_active else None


def _start(monday: dt.date) -> dt.datetime:
    return week_range(monday)[0]


# --- a week's figures and how it stands ------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    mqls: int = 0
    accepted: int = 0
    rejected: int = 0

    @property
    def acceptance(self) -> float | None:
        """accepted ÷ (accepted + rejected), a ratio; None when sales answered none."""
        answered = self.accepted + self.rejected
        return self.accepted / answered if answered else None

    @property
    def acceptance_percent(self) -> int | None:
        """The acceptance as a whole percentage (half to even), as the commitment is judged."""
        answered = self.accepted + self.rejected
        return round(100 * self.accepted / answered) if answered else None


@dataclass
class WeekStatus:
    """A week of a team's commitment: its figures (as recorded, or from the event log), the
    terms in force at its start, and — for the current week — the share of it gone by."""

    team: Team
    week_start: dt.date
    mqls: int
    accepted: int
    rejected: int
    min_mqls: int
    min_acceptance_percent: int
    elapsed: Fraction | None = None  # the current week: share of its business time gone by
    recorded_at: dt.datetime | None = None
    now: Figures | None = None  # a recorded week whose figures differ today: late data

    @property
    def finished(self) -> bool:
        return self.elapsed is None

    @property
    def figures(self) -> Figures:
        return Figures(self.mqls, self.accepted, self.rejected)

    @property
    def recorded_on(self) -> dt.date | None:
        """The day the week was recorded, in the organisation's zone (None: not yet)."""
        return self.recorded_at.astimezone(org_tz()).date() if self.recorded_at else None

    @property
    def acceptance_percent(self) -> int | None:
        return self.figures.acceptance_percent

    @property
    def volume_met(self) -> bool:
        return self.mqls >= self.min_mqls

    @property
    def quality_met(self) -> bool:
        # No response yet means nothing to judge: quality counts as met.
        percent = self.acceptance_percent
        return percent is None or percent >= self.min_acceptance_percent

    @property
    def met(self) -> bool | None:
        """The verdict of a finished week; None while the week runs (it has a pace instead)."""
        return self.volume_met and self.quality_met if self.finished else None

    @property
    def mqls_due(self) -> int | None:
        """The current week's MQLs due by now: the target prorated by the share of the week's
        business time gone by (the team's calendar), in whole MQLs, rounded down. None for a
        finished week."""
        return None if self.elapsed is None else math.floor(self.min_mqls * self.elapsed)

    @property
    def status(self) -> str:
        """kept or missed once the week has ended; on track or behind while it runs."""
        if self.finished:
            return KEPT if self.met else MISSED
        return ON_TRACK if self.mqls >= (self.mqls_due or 0) and self.quality_met else BEHIND


def _team_filter(team: Team, *, only_marketing_team: bool) -> Q:
    members = Membership.objects.filter(team=team).values("user_id")
    # Automatic hand-offs (no actor) count for the marketing team when there is only one.
    return Q(actor__in=members) | (Q(actor__isnull=True) if only_marketing_team else Q(pk__in=[]))


def _only_marketing_team() -> bool:
    return Team.objects.filter(kind=TeamKind.MARKETING).count() == 1


def week_figures(
    team: Team, first: dt.date, last: dt.date, *, only_marketing_team: bool
) -> dict[dt.date, Figures]:
    """Per week from `first`'s to `last`'s, from the event log: MQLs handed off by the team's
    members, and sales' responses to leads the team handed off. Two grouped queries,
    whatever the number of weeks; a week with nothing has no key."""
    start, end = week_range(first, last)
    events = (
        LeadEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(week=TruncWeek("occurred_at", tzinfo=org_tz()))
        .order_by()
    )
    mqls = (
        events.filter(_team_filter(team, only_marketing_team=only_marketing_team), type=EventType.QUALIFIED)
        .values("week")
        .annotate(n=Count("id"))
    )
    responses = (
        events.filter(
            lead__qualified_by__membership__team=team, type__in=[EventType.ACCEPTED, EventType.REJECTED]
        )
        .values("week")
        .annotate(
            accepted=Count("id", filter=Q(type=EventType.ACCEPTED)),
            rejected=Count("id", filter=Q(type=EventType.REJECTED)),
        )
    )
    counts: dict[dt.date, dict] = {}
    for row in mqls:
        counts.setdefault(_day(row["week"]), {})["mqls"] = row["n"]
    for row in responses:
        counts.setdefault(_day(row["week"]), {}).update(accepted=row["accepted"], rejected=row["rejected"])
    return {monday: Figures(**values) for monday, values in counts.items()}


def _day(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _elapsed(monday: dt.date, now: dt.datetime, calendar: BusinessCalendar) -> Fraction | None:
    """The share of the week's business time (the team's calendar) gone by at `now`; None
    once the week has ended. A week with no business time at all goes by in calendar time."""
    start, end = week_range(monday)
    if now >= end:
        return None
    now = max(now, start)
    whole = business_time_between(start, end, calendar)
    gone = business_time_between(start, now, calendar)
    if not whole:
        whole, gone = end - start, now - start
    micro = dt.timedelta(microseconds=1)
    return Fraction(gone // micro, whole // micro)


def commitment_weeks(
    first: dt.date,
    last: dt.date,
    *,
    now: dt.datetime | None = None,
    team_ids: Iterable[int] | None = None,
) -> list[WeekStatus]:
    """Every judged week of every team with a commitment, from `first`'s week to `last`'s
    (never past the current week), by team name then week. A recorded week shows its
    recorded figures and terms (and `now`, when today's figures differ); any other week its
    figures from the event log, judged by the terms in force at its start. A constant
    number of queries whatever the number of weeks: the terms, the records, the number of
    marketing teams, the calendars (when the current week is in range), and two per team."""
    now = now or timezone.now()
    current = monday_of(now)
    first, last = monday_of(first), min(monday_of(last), current)
    if first > last:
        return []
    histories = terms_history(team_ids)
    recorded = {
        (week.team_id, week.week_start): week
        for week in CommitmentWeek.objects.filter(
            team_id__in=list(histories), week_start__gte=first, week_start__lte=last
        )
    }
    mondays = [first + dt.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
    # The current week's pace is measured in each team's business time.
    calendars = (
        calendars_of_teams([history[0].team_id for history in histories.values()]) if last == current else {}
    )
    only_marketing_team = None
    weeks = []
    for team_id, history in histories.items():
        judged = []
        for monday in mondays:
            terms = terms_at(history, _start(monday))
            if terms is not None or (team_id, monday) in recorded:
                judged.append((monday, terms))
        if not judged:
            continue
        if only_marketing_team is None:
            only_marketing_team = _only_marketing_team()
        team = history[0].team
        figures = week_figures(team, judged[0][0], judged[-1][0], only_marketing_team=only_marketing_team)
        for monday, terms in judged:
            live = figures.get(monday, Figures())
            record = recorded.get((team_id, monday))
            if record is not None:
                frozen = Figures(record.mqls, record.accepted, record.rejected)
                week = WeekStatus(
                    team=team,
                    week_start=monday,
                    **vars(frozen),
                    min_mqls=record.min_mqls,
                    min_acceptance_percent=record.min_acceptance_percent,
                    recorded_at=record.recorded_at,
                    now=live if live != frozen else None,
                )
            elif terms is not None:
                week = WeekStatus(
                    team=team,
                    week_start=monday,
                    **vars(live),
                    min_mqls=terms.min_mqls,
                    min_acceptance_percent=terms.min_acceptance_percent,
                    elapsed=_elapsed(monday, now, calendars[team_id]) if monday == current else None,
                )
            else:
                continue
            weeks.append(week)
    weeks.sort(key=lambda week: (week.team.name, week.week_start))
    return weeks


def week_status(team: Team, monday: dt.date, *, now: dt.datetime | None = None) -> WeekStatus | None:
    """The team's week starting `monday`, as `commitment_weeks` shows it; None when the week
    is not judged (no terms in force at its start) or has not begun."""
    weeks = commitment_weeks(monday, monday, now=now, team_ids=[team.pk])
    return weeks[0] if weeks else None


# --- recording finished weeks ----------------------------------------------------------------------


def commitments_close_weeks(*, now: dt.datetime | None = None, limit: int = CLOSE_BATCH) -> int:
    """Record every finished, judged week not recorded yet — however far back — oldest first
    and at most `limit` per run (the task runs again while a run is full); each week once:
    the unique constraint makes a second run or a second beat harmless. Each is judged by the
    terms in force at its start, and the team's manager is told of a week that fell short.
    Returns how many weeks were recorded."""

    current = monday_of(now or timezone.now())
    histories = terms_history()
    done = set(
        CommitmentWeek.objects.filter(team_id__in=list(histories)).values_list("team_id", "week_start")
    )
    only_marketing_team = None
    recorded = 0
    for team_id, history in sorted(histories.items(), key=lambda item: item[1][0].team.name):
        if recorded >= limit:
            break
        team = history[0].team
        due = []
        monday = monday_of(history[0].in_force_from)
        while monday < current and len(due) < limit - recorded:
            terms = terms_at(history, _start(monday))
            if terms is not None and (team_id, monday) not in done:
                due.append((monday, terms))
            monday += dt.timedelta(weeks=1)
        if not due:
            continue
        if only_marketing_team is None:
            only_marketing_team = _only_marketing_team()
        figures = week_figures(team, due[0][0], due[-1][0], only_marketing_team=only_marketing_team)
        for monday, terms in due:
            status = WeekStatus(
                team=team,
                week_start=monday,
                **vars(figures.get(monday, Figures())),
                min_mqls=terms.min_mqls,
                min_acceptance_percent=terms.min_acceptance_percent,
            )
            try:
                with transaction.atomic():
                    CommitmentWeek.objects.create(
                        team=team,
                        week_start=monday,
                        mqls=status.mqls,
                        accepted=status.accepted,
                        rejected=status.rejected,
                        min_mqls=status.min_mqls,
                        min_acceptance_percent=status.min_acceptance_percent,
                        met=bool(status.met),
                    )
                    if not status.met and team.manager is not None:
                        _notify_missed(status)
            except IntegrityError:
                continue  # recorded already (an earlier run, or another beat)
            recorded += 1
    return recorded


def _notify_missed(status: WeekStatus) -> None:
    team, monday = status.team, status.week_start
    notify(
        recipient=team.manager,
        kind=NotificationKind.SLA_BREACH,
        lead=None,
        dedupe_key=f"commitment:{team.pk}:{monday.isoformat()}",
        subject=f"Marketing SLA missed, week of {monday:%d %b}: {status.mqls} MQLs"
        f" (agreed {status.min_mqls}), {status.acceptance_percent or 0}% accepted"
        f" (agreed {status.min_acceptance_percent}%)",
        body=f"{team} handed off {status.mqls} MQLs in the week of {formats.day(monday)}; "
        f"sales accepted {status.accepted} and rejected {status.rejected}. The week is judged by "
        f"the commitment in force when it began: {status.min_mqls} MQLs, "
        f"{status.min_acceptance_percent}% accepted.",
    )


# --- changing the commitment -----------------------------------------------------------------------

MAX_WEEKLY_MQLS = 1_000_000


@transaction.atomic
def commitment_update(
    *, actor, team_id: int, min_mqls: int, min_acceptance_percent: int, is_active: bool = True
):
    """Set a marketing team's weekly commitment from now on: the current terms, their history
    (`CommitmentTerms`, in force from this moment) and the agreement's audit line, together."""
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
    now = timezone.now()
    for name, value in after.items():
        setattr(commitment, name, value)
    commitment.updated_at = now
    commitment.save()
    CommitmentTerms.objects.create(team=team, in_force_from=now, **after)
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
