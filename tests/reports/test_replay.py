"""Random but seeded histories, with outages, replayed through the real services: every
figure the dashboard shows equals a plain recount of the rows (tests/reports/recount.py,
written from DESIGN.md alone).

Each seed plays six ISO weeks (the first holds the end of summer time in Berlin; the last
is the current week, played to Wednesday noon) of leads created, handed off, accepted,
rejected, won, lost, disqualified, reassigned across teams, touched and merged, with:

- the SLA worker down across due times (one outage spans a week's end; with some seeds it
  is still down at the end), then running late — and, back, acting on what it finds late:
  partner leads go to the next rep (their clock starts again), website leads back to
  marketing. A few leads follow a script so that every seed has a breach detected in a later
  week than it fell due, a late answer in the week after the due time, an MQL overdue now,
  a late reassignment and a late return;
- the weekly recording jobs (marketing's commitment weeks, the frozen weeks) run on time,
  late, or not at all;
- marketing's commitment changed mid-week, and again on a Sunday night just before a week
  starts: each week is judged by the terms in force at its start.

Then, for several ranges and one filtered scope, every table of the dashboard is held
against the recount, row by row and column by column, and every linked count's drill-down
against the recount's leads. On PostgreSQL the dashboard reads its rollups; it is compared
both ways (rollups, and the event log with ROLLUPS_ENABLED=False). Frozen weeks are held
against the recount as it stood when they were frozen; stored business times and
`stage_since` against their recomputation; speed to lead, measured from the hand-off even
when an SLA reassignment restarted the response clock, against the events.

The history is played once per seed for the module (inside one transaction, rolled back at
the end); each table is its own test, so a failure names the figure.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import random
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.http import QueryDict
from django.test import TestCase
from django.test.utils import override_settings

from leads import services
from leads.filters import LeadFilter
from leads.models import Lead, LeadEvent, Stage
from reports import dashboard, rollups
from reports.commitments import commitment_update, commitments_close_weeks
from reports.models import WeekSnapshot
from reports.snapshots import freeze_finished_weeks
from sla import services as sla_services
from sla.models import Clock, SlaPolicy
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.org.models import EngagementType, Source
from tests.conftest import LiveApps, make_org
from tests.factories import CampaignFactory, LeadFactory
from tests.reports.history import attempt
from tests.reports.recount import History, business_seconds, monday

BERLIN = ZoneInfo("Europe/Berlin")
START = dt.date(2026, 10, 19)  # ISO week 43: Berlin leaves summer time on Sunday 25 October
WEEKS = 6  # five finished weeks and the current one
SEEDS = [11, 12, 13]
# The table's key column(s) by slug: a row is found by it on both sides.
KEYS = {
    "funnel": ("stage",),
    "weekly": ("week",),
    "speed": ("week",),
    "sla-week": ("name",),
    "sla-owner": ("name",),
    "sla-team": ("name",),
    "commitment": ("team", "week"),
    "velocity": ("stage",),
    "cohorts": ("week",),
    "rejections": ("reason",),
    "rejections-source": ("name",),
    "rejections-campaign": ("name",),
    "mql-definition": ("definition",),
    "agreement-version": ("definition",),
    "attribution-source": ("name",),
    "attribution-campaign": ("name",),
    "attribution-referrer": ("name",),
}
# Tables whose empty rows (every count 0, every rate None) are presentation: a row the
# dashboard leaves out and the recount has at zero (or the other way round) is the same.
SPARSE = set(KEYS) - {"commitment"}


def at(week: int, day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(
        START + dt.timedelta(weeks=week, days=day), dt.time(hour, minute, second), tzinfo=BERLIN
    )


NOW = at(WEEKS - 1, 2, 13)  # Wednesday 13:00 of the current week
MONDAYS = [START + dt.timedelta(weeks=n) for n in range(WEEKS)]
RANGES = [
    (MONDAYS[0], MONDAYS[-1], {}),
    (MONDAYS[0], MONDAYS[0], {}),
    (MONDAYS[2], MONDAYS[3], {}),
    (MONDAYS[-1], MONDAYS[-1], {}),
    (MONDAYS[1], MONDAYS[-1], {"source": Source.EVENT}),
]


# --- the organisation ---------------------------------------------------------------------------


def organisation() -> SimpleNamespace:
    """Two sales teams (three reps taking MQLs) and a marketing team, as tests/conftest.py's
    `org`, made here because the history is played once for the module."""
    importlib.import_module("leads.migrations.0002_roles_and_reasons").forwards(LiveApps(), None)
    importlib.import_module("sla.migrations.0004_default_policy").forwards(LiveApps(), None)
    org = make_org(only_rep_routed=False)
    sales, other_sales = org.sales, org.other_sales
    org.reps = [org.rep, org.rep2, org.other_rep]
    org.managers = {sales.pk: org.sales_manager, other_sales.pk: org.other_manager}
    org.rejections = list(Reason.objects.filter(kind=ReasonKind.REJECTION, is_active=True))
    org.losses = list(Reason.objects.filter(kind=ReasonKind.LOSS, is_active=True))
    org.disqualifications = list(Reason.objects.filter(kind=ReasonKind.DISQUALIFICATION, is_active=True))
    # Sales' side: partner leads are answered within 4 business hours or go to the next
    # rep; website leads within 8 or go back to marketing; the rest (default) notify only.
    SlaPolicy.objects.create(
        name="Partner leads", priority=10, sources=[Source.PARTNER], response_hours=4, on_breach="reassign"
    )
    SlaPolicy.objects.create(
        name="Website leads", priority=20, sources=[Source.WEBSITE], response_hours=8, on_breach="return"
    )
    org.campaigns = [
        CampaignFactory(name="Autumn webinar", cost=1500),
        CampaignFactory(name="Trade fair", cost=Decimal("4000.50")),
    ]
    return org


# --- the history ------------------------------------------------------------------------------


class Replay:
    """One seeded history: a time-ordered plan of actions, applied through the services."""

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        self.org = organisation()
        self.leads: list[Lead] = []  # the leads random steps act on
        self.pinned: dict[str, Lead] = {}  # the leads only the script acts on
        self.plan: list[tuple[dt.datetime, int, str, tuple]] = []
        self.terms: list[tuple[dt.datetime, int, int]] = []
        self.log: dict[str, list[dt.datetime]] = {"enforce": [], "close": [], "freeze": [], "outages": []}

    def add(self, moment: dt.datetime, kind: str, *payload) -> None:
        if moment < NOW:
            self.plan.append((moment, len(self.plan), kind, payload))

    def make_plan(self) -> None:
        rng = self.rng
        # Marketing's commitment: agreed the Friday before, changed on a Wednesday morning,
        # and again late on a Sunday (in force from the Monday after, 30 minutes later).
        self.add(at(-1, 4, 10), "terms", 4, 60)
        self.add(at(2, 2, 11, rng.randrange(60)), "terms", rng.choice([5, 6]), 50)
        self.add(at(3, 6, 23, 30), "terms", 3, rng.choice([65, 70]))
        # Leads nobody touches but this script: a response due on a Friday the worker is
        # down for, answered after the worker recorded the breach in the week after next;
        # one due on a Friday and answered late on the Monday, before any worker saw it; and
        # one still unanswered now (overdue: breached, or not yet recorded if the worker
        # is still down).
        self.add(at(1, 3, 16, 30), "pinned", "late-detected", Source.EVENT)
        self.add(at(3, 3, 10), "pinned", "late-detected")
        self.add(at(1, 3, 16, 45), "pinned", "answered-late", Source.EVENT)
        self.add(at(2, 0, 10), "pinned", "answered-late")
        self.add(at(WEEKS - 1, 0, 9, 30), "pinned", "overdue", Source.EVENT)
        # A partner lead due on that Friday: the worker, back, hands it to another rep (its
        # clock starts again), who answers; a website lead it sends back to marketing.
        self.add(at(1, 3, 16, 50), "pinned", "reassigned-late", Source.PARTNER)
        self.add(at(3, 3, 11), "pinned", "reassigned-late")
        self.add(at(1, 3, 16, 55), "pinned", "returned-late", Source.WEBSITE)
        for week in range(WEEKS):
            self.add(at(week, 0, 8), "create", rng.randrange(4, 7))
            if rng.random() < 0.5:
                self.add(at(week, 6, 23, 40), "create", 1)  # Sunday night: still this week
            moments = [at(week, rng.randrange(5), rng.randrange(9, 17), rng.randrange(60)) for _ in range(14)]
            moments += [at(week, 6, 23, 50), at(week, 0, 0, 20)]  # either side of midnight
            for moment in moments:
                self.add(moment, "step")
        # The SLA worker runs every six hours, but for the outages: one from a Thursday to
        # a day in the week after next (across due times and a week's end), and one from
        # a Friday afternoon to early Monday, or from week 5 to the end (still down now).
        down = [(at(1, 3, rng.randrange(8, 16)), at(3, rng.randrange(0, 3), rng.randrange(1, 23)))]
        if rng.random() < 0.5:
            down.append((at(4, 3, 12), NOW + dt.timedelta(days=1)))
        else:
            down.append((at(3, 4, 16), at(4, 0, 3)))
        self.log["outages"] = down
        moment = at(0, 0, 1)
        while moment < NOW:
            if not any(start <= moment < end for start, end in down):
                self.add(moment, "enforce")
            moment += dt.timedelta(hours=6)
        for _, end in down:
            self.add(end, "enforce")  # the worker is back: late, it records what fell due
        # The hourly recording jobs: right after some weeks end, late once (after both
        # changes of terms), and otherwise not at all.
        for job in ("close", "freeze"):
            for week in range(1, WEEKS):
                if rng.random() < 0.4:
                    self.add(at(week, 0, 0, 5, 30), job)
            self.add(at(4, rng.randrange(1, 3), rng.randrange(9, 17), 7, 30), job)
        self.plan.sort()

    def play(self) -> Replay:
        self.make_plan()
        for moment, _, kind, payload in self.plan:
            with time_machine.travel(moment, tick=False):
                getattr(self, f"do_{kind}")(moment, *payload)
        return self

    # --- the actions ------------------------------------------------------------------------

    def do_terms(self, moment, min_mqls: int, percent: int) -> None:
        org = self.org
        commitment_update(
            actor=org.marketing_manager,
            team_id=org.marketing.pk,
            min_mqls=min_mqls,
            min_acceptance_percent=percent,
        )
        self.terms.append((moment, min_mqls, percent))

    def do_enforce(self, moment) -> None:
        # The breach actions are queued when the run commits (here: when it would have).
        with TestCase.captureOnCommitCallbacks(execute=True):
            sla_services.sla_enforce()
        self.log["enforce"].append(moment)

    def do_close(self, moment) -> None:
        commitments_close_weeks(now=moment)
        self.log["close"].append(moment)

    def do_freeze(self, moment) -> None:
        freeze_finished_weeks(now=moment)
        self.log["freeze"].append(moment)

    def do_pinned(self, moment, name: str, source: str | None = None) -> None:
        org = self.org
        if name not in self.pinned:
            self.do_create(moment, 1, pinned=name, source=source)
            services.lead_qualify(lead_id=self.pinned[name].pk, actor=org.marketer)
            return
        lead = self.pinned[name]
        lead.refresh_from_db()
        if name == "answered-late":
            services.lead_reject(lead_id=lead.pk, actor=lead.owner, reason=org.rejections[0])
        else:
            services.lead_accept(lead_id=lead.pk, actor=lead.owner)

    def do_create(self, moment, count: int, pinned: str | None = None, source: str | None = None) -> None:
        rng, org = self.rng, self.org
        for _ in range(count):
            n = len(self.leads) + len(self.pinned)
            roll = rng.random()
            if source:
                fields = {"source": source}
            elif roll < 0.12:
                fields = {
                    "actor": org.employee,
                    "referrer": org.employee,
                    "via": "referral",
                    "source": Source.REFERRAL,
                }
            elif roll < 0.5:
                fields = {"source": Source.EVENT, "campaign": rng.choice(org.campaigns)}
            else:
                fields = {"source": rng.choice([Source.WEBSITE, Source.PARTNER, Source.EVENT])}
            lead = LeadFactory(
                last_name=f"S{self.seed}N{n}", email=f"replay{self.seed}-{n}@example.com", **fields
            )
            services.engagement_log(
                lead_id=lead.pk, actor=org.marketer, type=EngagementType.WEBINAR_ATTENDED, points=20
            )
            if pinned:
                self.pinned[pinned] = lead
            else:
                self.leads.append(lead)

    def do_step(self, moment) -> None:
        live = [lead for lead in self.leads if not lead.merged_into_id]
        for lead in self.rng.sample(live, min(len(live), 5)):
            lead.refresh_from_db()
            if not lead.merged_into_id:
                self.step(lead)

    def step(self, lead: Lead) -> None:  # noqa: C901 - one branch per stage and move
        rng, org = self.rng, self.org
        owner, roll = lead.owner, rng.random()
        if lead.stage == Stage.LEAD:
            if roll < 0.08:
                attempt(
                    services.lead_disqualify,
                    lead_id=lead.pk,
                    actor=org.marketer,
                    reason=rng.choice(org.disqualifications),
                )
            elif roll < 0.2:
                other = rng.choice(self.leads)
                other.refresh_from_db()
                if other.pk != lead.pk and other.stage == Stage.LEAD and not other.merged_into_id:
                    attempt(services.lead_merge, survivor_id=lead.pk, other_id=other.pk, actor=org.admin)
                    other.refresh_from_db()
            elif roll < 0.85:
                attempt(
                    services.lead_qualify, lead_id=lead.pk, actor=rng.choice([org.marketer, org.marketer2])
                )
        elif lead.stage == Stage.MQL:  # and 28 % of the time, sales lets it wait
            if roll < 0.36:
                attempt(services.lead_accept, lead_id=lead.pk, actor=owner)
            elif roll < 0.6:
                attempt(services.lead_reject, lead_id=lead.pk, actor=owner, reason=rng.choice(org.rejections))
            elif roll < 0.68:
                self.reassign(lead)
            elif roll < 0.72:
                attempt(
                    services.lead_disqualify,
                    lead_id=lead.pk,
                    actor=owner,
                    reason=rng.choice(org.disqualifications),
                )
        elif lead.stage == Stage.SQL:
            if roll < 0.45:
                attempt(services.touch_log, lead_id=lead.pk, actor=owner, kind="call", outcome="connected")
            elif roll < 0.6:
                amount = str(rng.randrange(1, 90) * 500)
                attempt(
                    services.lead_win, lead_id=lead.pk, actor=owner, amount=amount, closed_on=dt.date.today()
                )
            elif roll < 0.75:
                attempt(services.lead_lose, lead_id=lead.pk, actor=owner, reason=rng.choice(org.losses))
            elif roll < 0.8:
                attempt(
                    services.lead_disqualify,
                    lead_id=lead.pk,
                    actor=owner,
                    reason=rng.choice(org.disqualifications),
                )
            elif roll < 0.85:
                self.reassign(lead)
        elif lead.stage == Stage.DISQUALIFIED and roll < 0.25:
            # Marketing reopens it: a lead lost after acceptance stays "lost" in its cohort.
            attempt(services.lead_reopen, lead_id=lead.pk, actor=org.marketer, note="Back in the market")

    def reassign(self, lead: Lead) -> None:
        owner = lead.owner
        manager = self.org.managers.get(owner.membership.team_id)
        new = self.rng.choice([rep for rep in self.org.reps if rep != owner])
        attempt(services.lead_reassign, lead_id=lead.pk, actor=manager, new_owner=new)


@pytest.fixture(scope="module", params=SEEDS, ids=lambda seed: f"seed{seed}")
def played(request, django_db_setup, django_db_blocker):
    """The seed's history, played once for the module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        replay = Replay(request.param).play()
        yield replay
        transaction.set_rollback(True)


# --- holding the dashboard against the recount -------------------------------------------------


def shown(first: dt.date, last: dt.date, params: dict, only: set[str] | None = None) -> dict[str, dict]:
    """The dashboard's tables as the API and CSV carry them (plain values), by slug."""
    scope = dashboard.scope_for(first, last, params)
    return {slug: dashboard.table_data(table, scope) for slug, table in dashboard.build(scope, only).items()}


def expected(replay: Replay, first: dt.date, last: dt.date, params: dict, history: History | None = None):
    history = history or History()
    terms, closes = {replay.org.marketing.name: replay.terms}, replay.log["close"]
    if not params:
        return history.tables(first, last, now=NOW, terms=terms, closes=closes)
    scope = dashboard.scope_for(first, last, params)  # only for its filtered lead ids
    ids = set(scope.leads.values_list("pk", flat=True))
    tables = history.scoped(ids).tables(first, last, now=NOW, terms=terms, closes=closes)
    tables["commitment"] = history.commitment(first, last, NOW, terms, closes)  # whatever the filters
    return tables


def _key(slug: str, row: dict):
    columns = KEYS[slug]
    return row[columns[0]] if len(columns) == 1 else tuple(row[c] for c in columns)


def _empty(slug: str, row: dict) -> bool:
    keys = KEYS[slug]
    return all(value in (None, 0, "0.00") for column, value in row.items() if column not in keys)


def same(want, got) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, float) or isinstance(got, float):
        return math.isclose(float(want), float(got), rel_tol=1e-9, abs_tol=1e-4)
    if isinstance(want, str) and isinstance(got, str) and want.replace(".", "", 1).lstrip("-").isdigit():
        return abs(Decimal(want) - Decimal(got)) <= Decimal("0.01")
    return want == got


def differences(slug: str, want, table: dict, label: str) -> list[str]:
    """Every figure of one table that differs from the recount, in words."""
    rows = {_key(slug, row): row for row in table["rows"]}
    wanted = dict(want.rows)
    if slug in SPARSE:
        rows = {k: r for k, r in rows.items() if not _empty(slug, r)}
        wanted = {k: r for k, r in wanted.items() if not _empty(slug, r)}
    found = []
    for key in sorted(set(wanted) - set(rows), key=str):
        found.append(f"{label} {slug} [{key}]: row missing; recount {wanted[key]}")
    for key in sorted(set(rows) - set(wanted), key=str):
        found.append(f"{label} {slug} [{key}]: row not in the recount; shown {rows[key]}")
    for key in sorted(set(rows) & set(wanted), key=str):
        for column in rows[key].keys() - wanted[key].keys() - set(KEYS[slug]):
            found.append(f"{label} {slug} [{key}] {column}: shown {rows[key][column]!r}, not recounted")
        for column, value in wanted[key].items():
            if column not in rows[key]:
                found.append(f"{label} {slug} [{key}] {column}: column missing; recount {value!r}")
            elif not same(value, rows[key][column]):
                found.append(
                    f"{label} {slug} [{key}] {column}: recount {value!r}, shown {rows[key][column]!r}"
                )
    return found


def drilled(url: str) -> set[int]:
    """The leads the lead list shows for a drill-down URL."""
    data = QueryDict(urlsplit(url).query)
    filters = LeadFilter(data, queryset=Lead.objects.live())
    assert filters.is_valid(), (url, filters.errors)
    return set(filters.qs.values_list("pk", flat=True))


def drilldown_differences(slug: str, want, table: dict, label: str) -> list[str]:
    found = []
    for row, links in zip(table["rows"], table["links"], strict=True):
        key = _key(slug, row)
        leads = want.leads.get(key, {})
        for column, url in links.items():
            if column not in leads:
                if row.get(column) not in (0, None):
                    found.append(
                        f"{label} {slug} [{key}] {column}: a link the recount has no leads for ({url})"
                    )
                continue
            got, expect = drilled(url), leads[column]
            if got != expect:
                found.append(
                    f"{label} {slug} [{key}] {column}: drill-down lists {len(got)} leads, recount {len(expect)}"
                    f" (only listed: {sorted(got - expect)[:5]}, only recounted: {sorted(expect - got)[:5]})"
                )
    return found


def readings():
    """How the dashboard is read on this database: rollups and event log on PostgreSQL."""
    if connection.vendor == "postgresql":
        return [("[rollups]", {}), ("[event log]", {"ROLLUPS_ENABLED": False})]
    return [("[event log]", {})]


def report(found: list[str]) -> str:
    return f"{len(found)} figures differ:\n" + "\n".join(found[:60])


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_history_has_what_it_is_for(played):
    """The seed made the cases the definitions are about (else the comparisons prove little)."""
    types = set(LeadEvent.objects.values_list("type", flat=True))
    assert {
        "qualified",
        "accepted",
        "rejected",
        "won",
        "lost",
        "disqualified",
        "merged",
        "reassigned",
        "reopened",
    } <= types
    assert Lead.objects.filter(merged_into__isnull=False).exists()
    detected_late = Clock.objects.get(lead=played.pinned["late-detected"], obligation="response")
    assert monday(detected_late.breached_at) > monday(detected_late.due_at)  # found after the outage
    assert detected_late.met_at > detected_late.breached_at
    answered_late = Clock.objects.get(lead=played.pinned["answered-late"])
    assert monday(answered_late.met_at) > monday(answered_late.due_at)  # breached by the late answer
    assert answered_late.breached_at == answered_late.met_at
    overdue = Clock.objects.get(lead=played.pinned["overdue"])
    assert overdue.due_at < NOW and overdue.met_at is None
    restarted = list(Clock.objects.filter(lead=played.pinned["reassigned-late"], obligation="response"))
    assert (
        len(restarted) >= 2 and restarted[0].breached_at and restarted[0].cancelled_at
    )  # by the late worker
    assert restarted[-1].met_at
    assert LeadEvent.objects.filter(lead=played.pinned["returned-late"], type="returned").exists()
    # The terms changed after some weeks ended and before they were recorded.
    assert len(played.terms) == 3
    first_change = played.terms[1][0]
    assert any(moment > first_change for moment in played.log["close"])
    assert WeekSnapshot.objects.exists()
    if connection.vendor == "postgresql":
        assert rollups.ready(), "on PostgreSQL the dashboard reads its rollups"


@pytest.mark.django_db
@pytest.mark.parametrize("slug", list(KEYS))
def test_every_figure_equals_the_recount(played, slug):
    found = []
    with time_machine.travel(NOW, tick=False):
        history = History()
        for label, settings in readings():
            with override_settings(**settings):
                for first, last, params in RANGES:
                    table = shown(first, last, params, {slug})[slug]
                    want = expected(played, first, last, params, history)[slug]
                    where = f"{label} {first}..{last}{' ' + str(params) if params else ''}"
                    found += differences(slug, want, table, where)
    assert not found, report(found)


@pytest.mark.django_db
@pytest.mark.parametrize("slug", [slug for slug in KEYS if slug != "commitment"])
def test_every_drilldown_lists_the_recounted_leads(played, slug):
    found = []
    with time_machine.travel(NOW, tick=False):
        history = History()
        for first, last, params in (RANGES[0], RANGES[2], RANGES[4]):
            table = shown(first, last, params, {slug})[slug]
            want = expected(played, first, last, params, history)[slug]
            found += drilldown_differences(slug, want, table, f"{first}..{last}{params or ''}")
    assert not found, report(found)


@pytest.mark.django_db
def test_every_table_is_recounted():
    assert set(dashboard.TABLES) <= set(KEYS), f"not recounted: {sorted(set(dashboard.TABLES) - set(KEYS))}"


@pytest.mark.django_db
def test_a_frozen_week_equals_the_recount_as_it_stood_when_frozen(played):
    """However late a week was frozen, its figures are the recount of the rows at that moment."""
    found = []
    snapshots = list(WeekSnapshot.objects.order_by("week_start"))
    assert snapshots
    terms = {played.org.marketing.name: played.terms}
    for snapshot in snapshots:
        then = History(as_of=snapshot.frozen_at)
        week = snapshot.week_start
        tables = then.tables(week, week, now=snapshot.frozen_at, terms=terms)
        for slug, figures in snapshot.figures.items():
            want = tables[slug].rows.get(week.isoformat()) or {}
            frozen = {**figures}
            if not want and _empty(slug, frozen):
                continue
            for column, value in want.items():
                if column in ("week", "name"):
                    continue
                if column not in frozen:
                    found.append(
                        f"{week} frozen {snapshot.frozen_at:%Y-%m-%d %H:%M} {slug} {column}: not frozen"
                    )
                elif not same(value, frozen[column]):
                    found.append(
                        f"{week} frozen {snapshot.frozen_at:%Y-%m-%d %H:%M} {slug} {column}: "
                        f"recount {value!r}, frozen {frozen[column]!r}"
                    )
    assert not found, report(found)


@pytest.mark.django_db
def test_stage_since_is_when_the_lead_entered_the_stage(played):
    """Velocity reads `stage_since` off the event that moved a lead out: it must be the
    time of the event that moved it in."""
    history = History()
    found = []
    for lead in history.leads.values():
        stays = {event.id: entered for _, entered, _, event in history.stays(lead)}
        for event in lead.events:
            if event.moves and event.frm and event.stage_since != stays.get(event.id):
                found.append(
                    f"event {event.id}: stage_since {event.stage_since}, entered {stays.get(event.id)}"
                )
    assert not found, report(found)


@pytest.mark.django_db
def test_the_recount_reads_the_same_history_the_services_wrote(played):
    """The recount's own reading: the stage replayed from the events is each lead's stage,
    and a lead is merged away exactly when it has a `merged_into` event."""
    now, replayed = History(), History(as_of=NOW + dt.timedelta(days=365))
    for pk, lead in now.leads.items():
        assert replayed.leads[pk].stage == lead.stage, pk
        assert replayed.leads[pk].merged == lead.merged, pk


@pytest.mark.django_db
def test_a_response_clock_stores_the_business_time_from_the_hand_off(played):
    """What speed to lead reads (`business_seconds`) is the business time, Monday to Friday
    9 to 5 in Berlin, from the hand-off (the lead's last `qualified` event at or before the
    clock's start: the same moment, unless an SLA reassignment restarted the clock) to its
    response: summer time ending included."""
    found = []
    for clock in Clock.objects.filter(obligation="response", met_at__isnull=False):
        handed_off = (
            LeadEvent.objects.filter(
                lead_id=clock.lead_id, type="qualified", occurred_at__lte=clock.started_at
            )
            .order_by("-occurred_at", "-id")
            .values_list("occurred_at", flat=True)
            .first()
        )
        measured = business_seconds(handed_off, clock.met_at)
        if clock.business_seconds != measured:
            found.append(f"clock {clock.pk}: stored {clock.business_seconds}, measured {measured}")
    assert not found, report(found)


@pytest.mark.django_db
def test_speed_to_lead_runs_from_the_hand_off_even_after_an_sla_reassignment(played):
    found = []
    with time_machine.travel(NOW, tick=False):
        history = History()
        for label, settings in readings():
            with override_settings(**settings):
                table = shown(MONDAYS[0], MONDAYS[-1], {}, {"speed"})["speed"]
                want = history.speed_from_handoff(MONDAYS[0], MONDAYS[-1])
                found += differences("speed", want, table, label)
    assert not found, report(found)
