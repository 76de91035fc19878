"""Every dashboard figure recounted from the rows, in plain Python, from DESIGN.md alone.

This is the second opinion that tests/reports/test_replay.py holds the dashboard against.
It reads `LeadEvent`, `Lead` and `Clock` rows (and the names of people, teams, reasons and
campaigns) into memory and applies the definitions of DESIGN.md ("Reports: definitions",
"The service level agreement") with loops and sets. Nothing from `reports.*` is imported
or imitated: where this file and the dashboard disagree, one of them misreads DESIGN.md.

The definitions as applied here:

- A week is the ISO week (Monday start) of a moment in SMARKETING_TIME_ZONE.
- A lead merged into another (a pointer) is in no figure: the survivor carries the person.
- *Entered S in W*: leads with an event moving them into S (from another stage, creation
  included) during W.
- *Acceptance rate*: accepted ÷ (accepted + rejected) responses made in W; *win rate*:
  won ÷ (won + lost) outcomes in W. The weekly table's outcome columns count leads.
- *Speed to lead*: the stored business time (`Clock.business_seconds`) of the response
  clocks met in W; median (mean of the two middle values) and 90th percentile (nearest
  rank, the value at rank ⌈0.9 n⌉).
- *SLA compliance*: a clock is resolved when it was met on time (at `met_at`) or when it
  was breached (`breached_at` set, a late response included) — at its *due time*, whenever
  the breach was detected. Compliance = met on time ÷ resolved, per week, rep and team.
- *Velocity*: per stage, the leads that left it in the range, each with its last stay that
  ended in the range (entered by the event that moved it in, left by the one that moved it
  out); median in days.
- *Cohorts*: the leads that entered MQL in W, each in one column by where it is now:
  waiting (MQL), SQL, customer, sent back (rejected by sales and now with marketing), lost
  (lost after acceptance: now recycled or disqualified by that loss), disqualified (any
  other way). The column is read from the event that put the lead in its current stage.
- *Attribution*: the leads created in the range by first-touch source, campaign and
  referrer; how many ever became MQL, SQL and customer; revenue won; campaign cost, cost
  per customer and ROI = (revenue − cost) ÷ cost.
- *Rejections*: rejection events in the range by reason (Pareto: most first, ties by
  label), and by reason and source or campaign (the leads rejected for each reason).
- *Hand-offs by version*: each hand-off in the range under the scoring (or agreement)
  version it recorded, answered by the lead's first accept or reject after it and before
  its next hand-off.
- *Marketing's commitment*: per finished week, the terms in force at the week's start
  (Monday 00:00), the hand-offs made in the week by the team's members (or automatically,
  when there is one marketing team), sales' responses made in the week to hand-offs by the
  team; kept = at least M MQLs and, when sales answered any, at least Q % of the answers
  accepted. The current week shows its figures so far and no verdict (`met` None). Every
  hand-off counts, including those of leads merged away later: a finished week's result is
  known the moment it ends.

`History(as_of=T)` reads the rows as they stood at T (events up to T, merges made by T,
clocks met or breached by T), for holding a week frozen at T against its recount.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model

from leads.models import Lead, LeadEvent, Stage
from sla.models import Clock
from smarketing.agreement.models import Reason
from smarketing.org.models import Campaign, Membership, Source, Team, TeamKind

STAGES = [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.CUSTOMER, Stage.DISQUALIFIED]
LABEL = dict(Stage.choices)
SOURCE_LABEL = dict(Source.choices)
OUTCOME_TYPES = {"accepted": "accepted", "rejected": "rejected", "won": "won", "lost": "lost"}
COHORT_COLUMNS = ["waiting", "sql", "customer", "sent_back", "lost", "disqualified"]


def org_zone() -> ZoneInfo:
    return ZoneInfo(settings.SMARKETING_TIME_ZONE)


def monday(moment: dt.datetime) -> dt.date:
    day = moment.astimezone(org_zone()).date()
    return day - dt.timedelta(days=day.weekday())


def week_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=org_zone())


def mondays(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    if n % 2:
        return float(ordered[n // 2])
    return (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def p90(values: list):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def business_seconds(start: dt.datetime, end: dt.datetime) -> int:
    """Business time between two moments in whole seconds: Monday to Friday, 9 to 5 in the
    organisation's zone (every team's calendar here: none set, no holidays)."""
    zone, total = org_zone(), dt.timedelta(0)
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        if day.weekday() < 5:
            opens = dt.datetime.combine(day, dt.time(9), tzinfo=zone)
            closes = dt.datetime.combine(day, dt.time(17), tzinfo=zone)
            low, high = max(start, opens), min(end, closes)
            if high > low:
                total += high - low
        day += dt.timedelta(days=1)
    return int(total.total_seconds())


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


@dataclass(frozen=True)
class Event:
    id: int
    lead: int
    type: str
    frm: str
    to: str
    at: dt.datetime
    reason: int | None
    actor: int | None
    data: dict
    stage_since: dt.datetime | None

    @property
    def moves(self) -> bool:
        return self.to != "" and self.frm != self.to


@dataclass
class LeadRow:
    id: int
    stage: str
    source: str
    campaign: int | None
    referrer: int | None
    amount: Decimal | None
    created: dt.datetime
    merged: bool
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class ClockRow:
    id: int
    lead: int
    obligation: str
    owner: int
    due: dt.datetime
    met: dt.datetime | None
    breached: dt.datetime | None
    seconds: int | None

    @property
    def breached_clock(self) -> bool:
        """Breached: recorded as such (by enforcement, or by a response after the due time)."""
        return self.breached is not None or (self.met is not None and self.met > self.due)

    @property
    def resolved_at(self) -> dt.datetime | None:
        if self.breached_clock:
            return self.due
        return self.met


@dataclass
class Figures:
    """One table's recount: rows by key (the value of the table's first column, or (team,
    week) for the commitment) and, per row and column, the leads behind the figure."""

    rows: dict = field(default_factory=dict)
    leads: dict = field(default_factory=dict)

    def add(self, key, row: dict, leads: dict | None = None) -> None:
        self.rows[key] = row
        self.leads[key] = leads or {}


class History:
    """The rows, read once (as they stood at `as_of`, or now)."""

    def __init__(self, as_of: dt.datetime | None = None):
        self.as_of = as_of
        events = LeadEvent.objects.order_by("occurred_at", "id").values_list(
            "id",
            "lead_id",
            "type",
            "from_stage",
            "to_stage",
            "occurred_at",
            "reason_id",
            "actor_id",
            "data",
            "stage_since",
        )
        self.events = [Event(*row) for row in events if as_of is None or row[5] <= as_of]
        self.leads: dict[int, LeadRow] = {}
        for pk, stage, source, campaign, referrer, amount, created, merged_into in Lead.objects.values_list(
            "id",
            "stage",
            "source",
            "campaign_id",
            "referrer_id",
            "deal_amount",
            "created_at",
            "merged_into_id",
        ):
            if as_of is not None and created > as_of:
                continue
            self.leads[pk] = LeadRow(
                pk, stage, source, campaign, referrer, amount, created, merged_into is not None
            )
        for event in self.events:
            self.leads[event.lead].events.append(event)
        if as_of is not None:
            for lead in self.leads.values():
                lead.merged = any(e.type == "merged_into" for e in lead.events)
                moves = [e for e in lead.events if e.to]
                lead.stage = moves[-1].to if moves else None
                lead.amount = None
        self.clocks = []
        for row in Clock.objects.order_by("id").values_list(
            "id",
            "lead_id",
            "obligation",
            "owner_id",
            "started_at",
            "due_at",
            "met_at",
            "breached_at",
            "business_seconds",
        ):
            pk, lead, obligation, owner, started, due, met, breached, seconds = row
            if as_of is not None:
                if started > as_of:
                    continue
                met = met if met is not None and met <= as_of else None
                breached = breached if breached is not None and breached <= as_of else None
                seconds = seconds if met is not None else None
            self.clocks.append(ClockRow(pk, lead, obligation, owner, due, met, breached, seconds))
        users = get_user_model().objects.values_list("id", "username", "first_name", "last_name")
        self.user_name = {pk: f"{first} {last}".strip() or username for pk, username, first, last in users}
        self.username = {pk: username for pk, username, _, _ in users}
        self.team_of = dict(Membership.objects.values_list("user_id", "team__name"))
        self.reason_label = dict(Reason.objects.values_list("id", "label"))
        self.campaigns = {
            pk: (name, cost) for pk, name, cost in Campaign.objects.values_list("id", "name", "cost")
        }
        marketing = Team.objects.filter(kind=TeamKind.MARKETING)
        self.marketing_members = {
            team.name: set(Membership.objects.filter(team=team).values_list("user_id", flat=True))
            for team in marketing
        }

    # --- what every figure is read from ---------------------------------------------------

    def live(self, lead_id: int) -> bool:
        return not self.leads[lead_id].merged

    def live_events(self, first: dt.date, last: dt.date) -> list[Event]:
        return [e for e in self.events if first <= monday(e.at) <= last and self.live(e.lead)]

    def live_clocks(self) -> list[ClockRow]:
        return [c for c in self.clocks if self.live(c.lead)]

    # --- the tables ---------------------------------------------------------------------

    def funnel(self, first: dt.date, last: dt.date) -> Figures:
        entered = {stage: set() for stage in STAGES}
        for e in self.live_events(first, last):
            if e.moves and e.to in entered:
                entered[e.to].add(e.lead)
        figures = Figures()
        top = len(entered[Stage.LEAD])
        for stage in STAGES:
            figures.add(
                LABEL[stage],
                {"leads": len(entered[stage]), "share": ratio(len(entered[stage]), top)},
                {"leads": entered[stage]},
            )
        return figures

    def weekly(self, first: dt.date, last: dt.date) -> Figures:
        figures = Figures()
        by_week = defaultdict(list)
        for e in self.live_events(first, last):
            by_week[monday(e.at)].append(e)
        for week in mondays(first, last):
            events = by_week[week]
            entered = {stage: {e.lead for e in events if e.moves and e.to == stage} for stage in STAGES}
            outcome_leads = {
                name: {e.lead for e in events if e.type == t} for name, t in OUTCOME_TYPES.items()
            }
            count = {name: sum(e.type == t for e in events) for name, t in OUTCOME_TYPES.items()}
            row = {"week": week.isoformat(), **{s: len(v) for s, v in entered.items()}}
            row.update({name: len(leads) for name, leads in outcome_leads.items()})
            row["responses"] = count["accepted"] + count["rejected"]
            row["acceptance_rate"] = ratio(count["accepted"], row["responses"])
            row["closes"] = count["won"] + count["lost"]
            row["win_rate"] = ratio(count["won"], row["closes"])
            figures.add(week.isoformat(), row, {**entered, **outcome_leads})
        return figures

    def speed(self, first: dt.date, last: dt.date) -> Figures:
        figures = Figures()
        met = defaultdict(list)
        for clock in self.live_clocks():
            if clock.obligation == "response" and clock.met is not None and clock.seconds is not None:
                met[monday(clock.met)].append(clock)
        for week in mondays(first, last):
            clocks = met[week]
            seconds = [c.seconds for c in clocks]
            leads = {c.lead for c in clocks}
            figures.add(
                week.isoformat(),
                {
                    "week": week.isoformat(),
                    "responses": len(clocks),
                    "leads": len(leads),
                    "median_seconds": median(seconds),
                    "p90_seconds": p90(seconds),
                },
                {"leads": leads},
            )
        return figures

    def speed_from_handoff(self, first: dt.date, last: dt.date) -> Figures:
        """Speed to lead as DESIGN.md says it, measured here rather than read off the clocks:
        for each first response (accept or reject) to a hand-off, made in W, the business
        time from the hand-off."""
        responses = defaultdict(list)
        for lead in self.leads.values():
            if lead.merged:
                continue
            handed_off = None
            for e in lead.events:
                if e.type == "qualified":
                    handed_off = e.at
                elif e.type in ("accepted", "rejected") and handed_off is not None:
                    responses[monday(e.at)].append((lead.id, business_seconds(handed_off, e.at)))
                    handed_off = None  # later responses answer a later hand-off
        figures = Figures()
        for week in mondays(first, last):
            seconds = [value for _, value in responses[week]]
            leads = {lead for lead, _ in responses[week]}
            figures.add(
                week.isoformat(),
                {
                    "week": week.isoformat(),
                    "responses": len(seconds),
                    "leads": len(leads),
                    "median_seconds": median(seconds),
                    "p90_seconds": p90(seconds),
                },
                {"leads": leads},
            )
        return figures

    def sla(self, first: dt.date, last: dt.date, by: str) -> Figures:
        groups = defaultdict(list)
        for clock in self.live_clocks():
            resolved = clock.resolved_at
            if resolved is None or not first <= monday(resolved) <= last:
                continue
            if by == "week":
                key = monday(resolved).isoformat()
            elif by == "owner":
                key = self.user_name[clock.owner]
            else:
                key = self.team_of.get(clock.owner) or "No team"
            groups[key].append(clock)
        figures = Figures()
        for key, clocks in groups.items():
            met = sum(not c.breached_clock for c in clocks)
            leads = {c.lead for c in clocks}
            figures.add(
                key,
                {
                    "name": key,
                    "resolved": len(clocks),
                    "met": met,
                    "breached": len(clocks) - met,
                    "compliance": ratio(met, len(clocks)),
                    "leads": len(leads),
                },
                {"leads": leads},
            )
        return figures

    def commitment(
        self,
        first: dt.date,
        last: dt.date,
        now: dt.datetime,
        terms: dict[str, list[tuple]],
        closes: list[dt.datetime] = (),
    ) -> Figures:
        """`terms`: per marketing team's name, [(from when, min MQLs, min acceptance %)], in
        the order they were set; `closes`: when the job that records finished weeks ran.

        Beside DESIGN.md's figures, the columns docs/product.md adds: the current week's
        pace (MQLs due by now = the target prorated by the share of the week gone by,
        rounded down; on track or behind), the day a finished week was recorded, and its
        figures today where they differ from the recorded ones (late data: never here,
        since the events of a finished week do not change)."""
        figures = Figures()
        current = monday(now)
        single = len(self.marketing_members) == 1
        for team, changes in terms.items():
            members = self.marketing_members[team]

            def by_team(actor) -> bool:
                return actor in members or (actor is None and single)  # noqa: B023

            for week in mondays(first, min(last, current)):
                start, end = week_start(week), week_start(week + dt.timedelta(weeks=1))
                in_force = [(mqls, percent) for when, mqls, percent in changes if when <= start]
                if not in_force:
                    continue  # no commitment at the week's start: nothing to judge it by
                min_mqls, min_percent = in_force[-1]
                mqls = accepted = rejected = 0
                for lead in self.leads.values():
                    handed_off_by = None
                    for e in lead.events:
                        in_week = monday(e.at) == week
                        if e.type == "qualified":
                            handed_off_by = e.actor
                            mqls += in_week and by_team(e.actor)
                        elif e.type in ("accepted", "rejected") and in_week and by_team(handed_off_by):
                            accepted += e.type == "accepted"
                            rejected += e.type == "rejected"
                answered = accepted + rejected
                quality = answered == 0 or 100 * accepted >= min_percent * answered
                if week < current:
                    met, due = mqls >= min_mqls and quality, None
                    status = "kept" if met else "missed"
                    runs = [moment for moment in closes if end <= moment <= now]
                    recorded = min(runs).astimezone(org_zone()).date().isoformat() if runs else None
                else:
                    met, recorded = None, None
                    due = math.floor(min_mqls * (now - start) / (end - start))
                    status = "on track" if mqls >= due and quality else "behind"
                figures.add(
                    (team, week.isoformat()),
                    {
                        "team": team,
                        "week": week.isoformat(),
                        "min_mqls": min_mqls,
                        "mqls": mqls,
                        "mqls_due": due,
                        "min_acceptance": min_percent / 100,
                        "acceptance": ratio(accepted, answered),
                        "status": status,
                        "met": met,
                        "recorded": recorded,
                        "mqls_now": None,
                        "acceptance_now": None,
                    },
                )
        return figures

    def stays(self, lead: LeadRow) -> list[tuple[str, dt.datetime, dt.datetime, Event]]:
        """(stage, entered, left, the event that moved it out) for each finished stay."""
        result = []
        entered_at: dict[str, dt.datetime] = {}
        for e in lead.events:
            if not e.moves:
                continue
            if e.frm and e.frm in entered_at:
                result.append((e.frm, entered_at[e.frm], e.at, e))
            entered_at[e.to] = e.at
        return result

    def velocity(self, first: dt.date, last: dt.date) -> Figures:
        last_stay: dict[str, dict[int, dt.timedelta]] = defaultdict(dict)
        for lead in self.leads.values():
            if lead.merged:
                continue
            for stage, entered, left, _ in self.stays(lead):
                if first <= monday(left) <= last:
                    last_stay[stage][lead.id] = left - entered  # later stays overwrite earlier ones
        figures = Figures()
        for stage in STAGES:
            spent = last_stay.get(stage, {})
            days = [value.total_seconds() / 86400 for value in spent.values()]
            figures.add(
                LABEL[stage],
                {"leads": len(spent), "median_days": median(days)},
                {"leads": set(spent)},
            )
        return figures

    def where_now(self, lead: LeadRow) -> str:
        """The cohort column of a lead (DESIGN.md; the edge cases as docs/decisions.md
        settles them): MQL, SQL and customer by stage; a lead out of the sales path by how
        it last left it — a loss after acceptance is *lost* (even when marketing reopened it
        since), a rejection or SLA return that put it back with marketing is *sent back*,
        and a disqualification still in force, not by a loss, is *disqualified*."""
        stage = lead.stage
        if stage == Stage.MQL:
            return "waiting"
        if stage == Stage.SQL:
            return "sql"
        if stage == Stage.CUSTOMER:
            return "customer"
        ways_out = ["rejected", "returned", "lost"] + (
            ["disqualified"] if stage == Stage.DISQUALIFIED else []
        )
        last_out = [e for e in lead.events if e.type in ways_out][-1:]
        if last_out and last_out[0].type == "lost":
            return "lost"
        return "sent_back" if stage == Stage.LEAD else "disqualified"

    def cohorts(self, first: dt.date, last: dt.date) -> Figures:
        cohort = defaultdict(set)
        for e in self.live_events(first, last):
            if e.moves and e.to == Stage.MQL:
                cohort[monday(e.at)].add(e.lead)
        figures = Figures()
        for week in mondays(first, last):
            columns = {name: set() for name in COHORT_COLUMNS}
            for lead in cohort[week]:
                columns[self.where_now(self.leads[lead])].add(lead)
            total = len(cohort[week])
            row = {"week": week.isoformat(), "mqls": total, **{k: len(v) for k, v in columns.items()}}
            row["converted"] = ratio(len(columns["sql"]) + len(columns["customer"]), total)
            figures.add(week.isoformat(), row, {"mqls": cohort[week], **columns})
        return figures

    def rejections(self, first: dt.date, last: dt.date) -> Figures:
        by_reason = defaultdict(list)
        for e in self.live_events(first, last):
            if e.type == "rejected":
                by_reason[e.reason].append(e)
        total = sum(len(v) for v in by_reason.values())
        order = sorted(by_reason, key=lambda r: (-len(by_reason[r]), self.reason_label.get(r) or ""))
        figures, running = Figures(), 0
        for reason in order:
            events = by_reason[reason]
            running += len(events)
            leads = {e.lead for e in events}
            figures.add(
                self.reason_label.get(reason),
                {
                    "rejections": len(events),
                    "leads": len(leads),
                    "share": len(events) / total,
                    "cumulative": running / total,
                },
                {"leads": leads},
            )
        return figures

    def rejections_by(self, first: dt.date, last: dt.date, by: str) -> Figures:
        rows: dict = {}
        for e in self.live_events(first, last):
            if e.type != "rejected":
                continue
            lead = self.leads[e.lead]
            if by == "source":
                name = SOURCE_LABEL.get(lead.source, lead.source)
            else:
                name = self.campaigns[lead.campaign][0] if lead.campaign else "No campaign"
            row, leads = rows.setdefault(name, ({"name": name, "rejections": 0}, defaultdict(set)))
            row["rejections"] += 1
            leads[f"reason_{e.reason}"].add(e.lead)
        figures = Figures()
        for name, (row, leads) in rows.items():
            figures.add(name, {**row, **{column: len(ids) for column, ids in leads.items()}}, dict(leads))
        return figures

    def handoffs(self, first: dt.date, last: dt.date, by: str) -> Figures:
        groups = defaultdict(lambda: {"handoffs": 0, "leads": set(), "accepted": 0, "rejected": 0})
        for lead in self.leads.values():
            if lead.merged:
                continue
            for position, e in enumerate(lead.events):
                if e.type != "qualified" or not first <= monday(e.at) <= last:
                    continue
                answer = None
                for later in lead.events[position + 1 :]:
                    if later.type == "qualified":
                        break
                    if later.type in ("accepted", "rejected"):
                        answer = later.type
                        break
                group = groups[e.data.get(by)]
                group["handoffs"] += 1
                group["leads"].add(lead.id)
                if answer:
                    group[answer] += 1
        figures = Figures()
        for version, group in groups.items():
            name = f"Version {version}" if version is not None else "Before versions were kept"
            answered = group["accepted"] + group["rejected"]
            figures.add(
                name,
                {
                    "definition": name,
                    "handoffs": group["handoffs"],
                    "leads": len(group["leads"]),
                    "accepted": group["accepted"],
                    "rejected": group["rejected"],
                    "waiting": group["handoffs"] - answered,
                    "acceptance_rate": ratio(group["accepted"], answered),
                },
                {"leads": group["leads"]} if version is not None else {},
            )
        return figures

    def attribution(self, first: dt.date, last: dt.date, by: str) -> Figures:
        groups: dict = {}
        for lead in self.leads.values():
            if lead.merged or not first <= monday(lead.created) <= last:
                continue
            if by == "source":
                key = SOURCE_LABEL.get(lead.source, lead.source)
            elif by == "campaign":
                key = self.campaigns[lead.campaign][0] if lead.campaign else "No campaign"
            else:
                if lead.referrer is None:
                    continue
                key = self.username[lead.referrer]
            group = groups.setdefault(
                key, {"campaign": lead.campaign, "sets": defaultdict(set), "revenue": Decimal(0)}
            )
            reached = {e.to for e in lead.events if e.moves}
            group["sets"]["leads"].add(lead.id)
            for column, stage in (("mqls", Stage.MQL), ("sqls", Stage.SQL), ("customers", Stage.CUSTOMER)):
                if stage in reached:
                    group["sets"][column].add(lead.id)
            if Stage.CUSTOMER in reached:
                group["revenue"] += lead.amount or Decimal(0)
        figures = Figures()
        for key, group in groups.items():
            sets = group["sets"]
            row = {"name": key, **{c: len(sets[c]) for c in ("leads", "mqls", "sqls", "customers")}}
            row["revenue"] = money(group["revenue"])
            if by == "campaign":
                cost = self.campaigns[group["campaign"]][1] if group["campaign"] else None
                customers = row["customers"]
                row["cost"] = money(cost)
                row["cost_per_customer"] = money(cost / customers) if cost is not None and customers else None
                row["roi"] = float((group["revenue"] - cost) / cost) if cost else None
            figures.add(key, row, {c: set(sets[c]) for c in ("leads", "mqls", "sqls", "customers")})
        return figures

    # --- all of them ----------------------------------------------------------------------

    def tables(
        self, first: dt.date, last: dt.date, *, now: dt.datetime, terms: dict, closes: list = ()
    ) -> dict[str, Figures]:
        return {
            "funnel": self.funnel(first, last),
            "weekly": self.weekly(first, last),
            "speed": self.speed(first, last),
            "sla-week": self.sla(first, last, "week"),
            "sla-owner": self.sla(first, last, "owner"),
            "sla-team": self.sla(first, last, "team"),
            "commitment": self.commitment(first, last, now, terms, closes),
            "velocity": self.velocity(first, last),
            "cohorts": self.cohorts(first, last),
            "rejections": self.rejections(first, last),
            "rejections-source": self.rejections_by(first, last, "source"),
            "rejections-campaign": self.rejections_by(first, last, "campaign"),
            "mql-definition": self.handoffs(first, last, "scoring_version"),
            "agreement-version": self.handoffs(first, last, "agreement_version"),
            "attribution-source": self.attribution(first, last, "source"),
            "attribution-campaign": self.attribution(first, last, "campaign"),
            "attribution-referrer": self.attribution(first, last, "referrer"),
        }

    def scoped(self, lead_ids: set[int]) -> History:
        """The same history with only these leads (the dashboard's filters)."""
        other = object.__new__(History)
        other.__dict__.update(self.__dict__)
        other.leads = {pk: lead for pk, lead in self.leads.items() if pk in lead_ids}
        other.events = [e for e in self.events if e.lead in lead_ids]
        other.clocks = [c for c in self.clocks if c.lead in lead_ids]
        return other
