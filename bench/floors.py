"""The dashboard's floors: each table's aggregates in hand-written SQL on the raw tables.

    .venv/bin/python -m bench.floors --database-url URL            # each table's floor, in ms
    .venv/bin/python -m bench.floors --database-url URL --check    # and prove they count the same

A floor is what the machine needs, at the least, to compute a table's figures from what
is stored: one statement per table on the event log, the clocks and the leads (no rollup,
no ORM, no Python beyond fetching the rows), timed as the median of 3 after one warm-up.
The dashboard may beat it (it reads rollups for the whole organisation); it must not be
far above it.

Every floor computes exactly the dashboard's figures for the whole organisation (the
dashboard's default scope, `scope.leads is None`), as DESIGN.md and reports.metrics define
them: a week is an ISO week in SMARKETING_TIME_ZONE, merged-away leads are left out,
medians are the mean of the two middle values (percentile_cont) and the 90th percentile
the nearest rank (percentile_disc). `check(scope)` runs every floor and compares its
figures with the dashboard's table, cell by cell, and raises on any difference, so a floor
that computes something cheaper than the dashboard cannot go unnoticed.

Two tables have no floor (`table_floor` returns None): `commitment` judges each week by
the terms in force at its start, reading the terms history and the recorded weeks beside
its per-team counts (a verdict per team and week, not an aggregate of the raw tables), and
`late-data` compares the stored week snapshots with tables already built.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal

NO_FLOOR = {
    "commitment": "judged per week by the terms in force at its start; reads the terms history",
    "late-data": "reads stored week snapshots",
}

WEEK = "date_trunc('week', {} AT TIME ZONE %(tz)s)::date"


def _events(join: str = "") -> str:
    """FROM and WHERE of the range's events on live leads (what reports.metrics.events_in
    reads), with `join` (more tables) between them."""
    return f"""
    FROM leads_leadevent e JOIN leads_lead l ON l.id = e.lead_id AND l.merged_into_id IS NULL {join}
    WHERE e.occurred_at >= %(start)s AND e.occurred_at < %(end)s"""


EVENTS = _events()
MOVES_IN = "e.to_stage <> '' AND e.from_stage <> e.to_stage"

FUNNEL = f"""
SELECT e.to_stage, count(DISTINCT e.lead_id) {EVENTS} AND {MOVES_IN}
GROUP BY e.to_stage"""

# Stages entered (distinct leads) and responses and outcomes (events, distinct leads) per
# week, from one scan of the range's events.
WEEKLY = f"""
WITH ev AS MATERIALIZED (
    SELECT {WEEK.format("e.occurred_at")} AS week, e.lead_id, e.type, e.to_stage,
           ({MOVES_IN}) AS moved {EVENTS}
      AND (({MOVES_IN}) OR e.type IN ('accepted', 'rejected', 'won', 'lost'))
)
SELECT 'entered', week, to_stage, count(DISTINCT lead_id), 0 FROM ev WHERE moved GROUP BY week, to_stage
UNION ALL
SELECT 'outcome', week, type, count(DISTINCT lead_id), count(*) FROM ev
WHERE type IN ('accepted', 'rejected', 'won', 'lost') GROUP BY week, type"""

SPEED = f"""
SELECT {WEEK.format("c.met_at")}, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY c.business_seconds),
       percentile_disc(0.9) WITHIN GROUP (ORDER BY c.business_seconds),
       count(DISTINCT c.lead_id)
FROM sla_clock c JOIN leads_lead l ON l.id = c.lead_id AND l.merged_into_id IS NULL
WHERE c.obligation = 'response' AND c.met_at >= %(start)s AND c.met_at < %(end)s
  AND c.business_seconds IS NOT NULL
GROUP BY 1"""

# Clocks resolved in the range, per {key}: resolved, met on time, leads. A clock met on time
# is resolved when it was met; a breached one (met late included) at its due time, however
# late the breach was detected.
SLA = """
SELECT {key}, count(*), count(*) FILTER (WHERE c.met_at IS NOT NULL AND c.breached_at IS NULL),
       count(DISTINCT c.lead_id)
FROM sla_clock c JOIN leads_lead l ON l.id = c.lead_id AND l.merged_into_id IS NULL {join}
WHERE (c.met_at >= %(start)s AND c.met_at < %(end)s AND c.breached_at IS NULL)
   OR (c.breached_at IS NOT NULL AND c.due_at >= %(start)s AND c.due_at < %(end)s)
GROUP BY {group}"""
SLA_WEEK = SLA.format(
    key=WEEK.format("CASE WHEN c.breached_at IS NOT NULL THEN c.due_at ELSE c.met_at END"), join="", group="1"
)
SLA_OWNER = SLA.format(
    key="coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username)",
    join="JOIN auth_user u ON u.id = c.owner_id",
    group="u.id",
)
SLA_TEAM = SLA.format(
    key="coalesce(t.name, 'No team')",
    join="LEFT JOIN leads_membership m ON m.user_id = c.owner_id LEFT JOIN leads_team t ON t.id = m.team_id",
    group="t.id",
)

# Each lead's last stay in each stage that ended in the range (its last move out of the
# stage there, by time then id): leads and the median days spent.
VELOCITY = f"""
WITH last_stay AS (
    SELECT DISTINCT ON (e.lead_id, e.from_stage) e.from_stage,
           extract(epoch FROM e.occurred_at - e.stage_since)::float8 AS spent
    {EVENTS} AND e.stage_since IS NOT NULL AND e.from_stage <> '' AND {MOVES_IN}
    ORDER BY e.lead_id, e.from_stage, e.occurred_at DESC, e.id DESC
)
SELECT from_stage, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY spent) / 86400
FROM last_stay GROUP BY from_stage"""

# Leads that entered MQL per week, by cohort state now (metrics.cohort_state's rule): in MQL,
# SQL or customer, that; otherwise the latest of the lead's rejections, SLA returns and
# losses (and disqualifications, while it is disqualified) decides: a loss → lost, else sent
# back (in lead) or disqualified.
COHORTS = f"""
WITH entry AS MATERIALIZED (
    SELECT DISTINCT {WEEK.format("e.occurred_at")} AS week, e.lead_id, l.stage
    {EVENTS} AND {MOVES_IN} AND e.to_stage = 'mql'
)
SELECT entry.week,
       CASE WHEN entry.stage = 'mql' THEN 'waiting'
            WHEN entry.stage IN ('sql', 'customer') THEN entry.stage
            WHEN latest.type = 'lost' THEN 'lost'
            WHEN entry.stage = 'lead' THEN 'sent_back'
            ELSE 'disqualified' END,
       count(*)
FROM entry LEFT JOIN LATERAL (
    SELECT x.type FROM leads_leadevent x
    WHERE x.lead_id = entry.lead_id
      AND (x.type IN ('rejected', 'returned', 'lost') OR (x.type = 'disqualified' AND entry.stage = 'disqualified'))
    ORDER BY x.occurred_at DESC, x.id DESC LIMIT 1
) latest ON entry.stage NOT IN ('mql', 'sql', 'customer')
GROUP BY 1, 2"""


def _rejections(by: str = "", join: str = "") -> str:
    """Rejections made in the range, per reason (and the lead's source or campaign):
    rejections and distinct leads."""
    return f"""
SELECT e.reason_id, r.label{by}, count(*), count(DISTINCT e.lead_id)
{_events(f"LEFT JOIN leads_reason r ON r.id = e.reason_id {join}")} AND e.type = 'rejected'
GROUP BY e.reason_id, r.label{by}"""


# Sales' first answer to a hand-off: the lead's first accept or reject after it with no
# later hand-off of the lead before that answer, in event order (time, then id).
ANSWER = """
    LEFT JOIN LATERAL (
        SELECT a.type FROM leads_leadevent a
        WHERE a.lead_id = e.lead_id AND a.type IN ('accepted', 'rejected')
          AND (a.occurred_at, a.id) > (e.occurred_at, e.id)
          AND NOT EXISTS (
              SELECT 1 FROM leads_leadevent h
              WHERE h.lead_id = e.lead_id AND h.type = 'qualified'
                AND (h.occurred_at, h.id) > (e.occurred_at, e.id) AND (h.occurred_at, h.id) < (a.occurred_at, a.id)
          )
        ORDER BY a.occurred_at, a.id LIMIT 1
    ) answer ON true"""


def _definition(key: str) -> str:
    """Hand-offs made in the range per version (`key`: scoring_version or agreement_version),
    the leads they were made on, and how many sales accepted and rejected."""
    return f"""
SELECT (e.data ->> '{key}')::int, count(*), count(DISTINCT e.lead_id),
       count(*) FILTER (WHERE answer.type = 'accepted'), count(*) FILTER (WHERE answer.type = 'rejected')
{_events(ANSWER)} AND e.type = 'qualified'
GROUP BY 1"""


# Leads created in the range per first touch: how many, how many ever reached MQL, SQL and
# customer (an event of that type at any time), and the revenue of those won.
ATTRIBUTION = """
WITH created AS MATERIALIZED (
    SELECT l.id, l.source, l.campaign_id, l.referrer_id, l.deal_amount FROM leads_lead l
    WHERE l.merged_into_id IS NULL AND l.created_at >= %(start)s AND l.created_at < %(end)s
),
reached AS (
    SELECT e.lead_id, bool_or(e.type = 'qualified') AS mql, bool_or(e.type = 'accepted') AS sql,
           bool_or(e.type = 'won') AS customer
    FROM leads_leadevent e JOIN created ON created.id = e.lead_id
    WHERE e.type IN ('qualified', 'accepted', 'won')
    GROUP BY e.lead_id
)
SELECT {key}, count(*), count(*) FILTER (WHERE r.mql), count(*) FILTER (WHERE r.sql),
       count(*) FILTER (WHERE r.customer), coalesce(sum(c.deal_amount) FILTER (WHERE r.customer), 0)
FROM created c LEFT JOIN reached r ON r.lead_id = c.id {join}
GROUP BY {group}"""

SQL: dict[str, str] = {
    "funnel": FUNNEL,
    "weekly": WEEKLY,
    "speed": SPEED,
    "sla-week": SLA_WEEK,
    "sla-owner": SLA_OWNER,
    "sla-team": SLA_TEAM,
    "velocity": VELOCITY,
    "cohorts": COHORTS,
    "rejections": _rejections(),
    "rejections-source": _rejections(", l.source"),
    "rejections-campaign": _rejections(", cm.name", "LEFT JOIN leads_campaign cm ON cm.id = l.campaign_id"),
    "mql-definition": _definition("scoring_version"),
    "agreement-version": _definition("agreement_version"),
    "attribution-source": ATTRIBUTION.format(key="c.source", join="", group="c.source"),
    "attribution-campaign": ATTRIBUTION.format(
        key="coalesce(cm.name, 'No campaign'), cm.cost",
        join="LEFT JOIN leads_campaign cm ON cm.id = c.campaign_id",
        group="cm.id",
    ),
    "attribution-referrer": ATTRIBUTION.format(
        key="u.username", join="JOIN auth_user u ON u.id = c.referrer_id", group="u.id"
    ),
}


def _params(scope) -> dict:
    from django.conf import settings

    from smarketing.core.weeks import week_range

    if scope.leads is not None:
        raise ValueError("the floors are for the whole organisation (a scope without filters)")
    start, end = week_range(scope.first, scope.last)
    return {"start": start, "end": end, "tz": settings.SMARKETING_TIME_ZONE}


def _run(slug: str, params: dict) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(SQL[slug], params)
        return cursor.fetchall()


def table_floor(slug: str, scope) -> float | None:
    """Milliseconds to compute the dashboard table `slug`'s figures for `scope` in
    hand-written SQL on the raw tables (median of 3 after a warm-up); None for a table
    that aggregates nothing (NO_FLOOR)."""
    if slug in NO_FLOOR:
        return None
    params = _params(scope)
    _run(slug, params)
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        _run(slug, params)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


# --- the check: the floors' figures are the dashboard's ----------------------------------------


def _stage_label(stage: str) -> str:
    from leads.models import Stage

    return dict(Stage.choices)[stage]


def _expect_funnel(rows, scope) -> dict:
    return {_stage_label(stage): {"leads": n} for stage, n in rows}


def _expect_weekly(rows, scope) -> dict:
    result: dict = {}
    for kind, week, key, leads, events in rows:
        row = result.setdefault(week, {"_events": {}})
        row[key] = leads
        if kind == "outcome":
            row["_events"][key] = events
    for row in result.values():
        events = row.pop("_events")
        answered = events.get("accepted", 0) + events.get("rejected", 0)
        closed = events.get("won", 0) + events.get("lost", 0)
        row.update(
            responses=answered,
            closes=closed,
            acceptance_rate=events.get("accepted", 0) / answered if answered else None,
            win_rate=events.get("won", 0) / closed if closed else None,
        )
    return result


def _expect_speed(rows, scope) -> dict:
    return {
        week: {"responses": n, "median_seconds": median, "p90_seconds": p90, "leads": leads}
        for week, n, median, p90, leads in rows
    }


def _expect_sla(rows, scope) -> dict:
    return {
        key: {
            "resolved": resolved,
            "met": met,
            "breached": resolved - met,
            "compliance": met / resolved,
            "leads": leads,
        }
        for key, resolved, met, leads in rows
    }


def _expect_velocity(rows, scope) -> dict:
    return {_stage_label(stage): {"leads": leads, "median_days": days} for stage, leads, days in rows}


def _expect_cohorts(rows, scope) -> dict:
    from reports.metrics import COHORT_STATES

    result: dict = {}
    for week, state, n in rows:
        if state not in COHORT_STATES:
            raise AssertionError(f"cohorts: the floor's state {state!r} is not a cohort state")
        result.setdefault(week, dict.fromkeys(COHORT_STATES, 0))[state] = n
    for row in result.values():
        total = sum(row.values())
        row.update(mqls=total, converted=(row.get("sql", 0) + row.get("customer", 0)) / total)
    return result


def _expect_rejections(rows, scope) -> dict:
    total = sum(row[2] for row in rows)
    ordered = sorted(rows, key=lambda row: (-row[2], row[1] is None, row[1] or ""))
    result, running = {}, 0
    for _, label, rejections, leads in ordered:
        running += rejections
        result[label] = {
            "rejections": rejections,
            "leads": leads,
            "share": rejections / total,
            "cumulative": running / total,
        }
    return result


def _expect_matrix(by: str) -> Callable:
    def expect(rows, scope) -> dict:
        from smarketing.org.models import Source

        names = dict(Source.choices)
        result: dict = {}
        for reason, _, key, rejections, leads in rows:
            name = names.get(key, key) if by == "source" else key or "No campaign"
            row = result.setdefault(name, {"rejections": 0})
            row["rejections"] += rejections
            row[f"reason_{reason}"] = leads
        return result

    return expect


def _expect_definition(rows, scope) -> dict:
    result = {}
    for version, handoffs, leads, accepted, rejected in rows:
        answered = accepted + rejected
        name = f"Version {version}" if version is not None else "Before versions were kept"
        result[name] = {
            "handoffs": handoffs,
            "leads": leads,
            "accepted": accepted,
            "rejected": rejected,
            "waiting": handoffs - answered,
            "acceptance_rate": accepted / answered if answered else None,
        }
    return result


def _expect_attribution(by: str) -> Callable:
    def expect(rows, scope) -> dict:
        from smarketing.org.models import Source

        names = dict(Source.choices)
        result = {}
        for row in rows:
            if by == "campaign":
                name, cost, *counts = row
            else:
                name, *counts = row
                name = names.get(name, name) if by == "source" else name
            leads, mqls, sqls, customers, revenue = counts
            result[name] = {"leads": leads, "mqls": mqls, "sqls": sqls, "customers": customers}
            result[name]["revenue"] = revenue
            if by == "campaign":
                result[name].update(
                    cost=cost,
                    cost_per_customer=cost / customers if cost is not None and customers else None,
                    roi=float((revenue - cost) / cost) if cost else None,
                )
        return result

    return expect


# slug → (the table's row key column, the floor's rows as {key: {column: value}})
EXPECTED: dict[str, tuple[str, Callable]] = {
    "funnel": ("stage", _expect_funnel),
    "weekly": ("week", _expect_weekly),
    "speed": ("week", _expect_speed),
    "sla-week": ("name", _expect_sla),
    "sla-owner": ("name", _expect_sla),
    "sla-team": ("name", _expect_sla),
    "velocity": ("stage", _expect_velocity),
    "cohorts": ("week", _expect_cohorts),
    "rejections": ("reason", _expect_rejections),
    "rejections-source": ("name", _expect_matrix("source")),
    "rejections-campaign": ("name", _expect_matrix("campaign")),
    "mql-definition": ("definition", _expect_definition),
    "agreement-version": ("definition", _expect_definition),
    "attribution-source": ("name", _expect_attribution("source")),
    "attribution-campaign": ("name", _expect_attribution("campaign")),
    "attribution-referrer": ("name", _expect_attribution("referrer")),
}


def _same(a, b) -> bool:
    """Equal figures: counts exactly, money to the cent, ratios and times to 1e-9."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return abs(Decimal(str(a)) - Decimal(str(b))) < Decimal("0.005")
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _empty(value) -> bool:
    return value in (None, 0)


def compare(slug: str, table, expected: dict) -> list[str]:
    """The differences between the dashboard's table and the floor's figures: for every row
    either side has, every column the floor computes. A row only one side has must hold
    nothing but zeros (the dashboard lists every week; the floor only weeks with data)."""
    key_column, _ = EXPECTED[slug]
    actual: dict = {}
    for row in table.rows:
        key = row[key_column]
        if key in actual:
            return [f"{slug}: two rows for {key!r}: the floor check cannot tell them apart"]
        actual[key] = row
    differences = []
    for key in sorted(set(actual) | set(expected), key=str):
        floor_row, table_row = expected.get(key), actual.get(key)
        if floor_row is None:
            columns = [c.key for c in table.columns if c.key != key_column and c.kind != "percent"]
            if any(not _empty(table_row.get(column)) for column in columns):
                differences.append(f"{slug} [{key}]: the dashboard has {table_row}, the floor no row")
            continue
        if table_row is None:
            if any(not _empty(value) for value in floor_row.values()):
                differences.append(f"{slug} [{key}]: the floor has {floor_row}, the dashboard no row")
            continue
        for column, value in floor_row.items():
            if not _same(table_row.get(column), value) and not (
                _empty(value) and _empty(table_row.get(column))
            ):
                differences.append(
                    f"{slug} [{key}] {column}: dashboard {table_row.get(column)!r}, floor {value!r}"
                )
    return differences


def check(scope) -> dict[str, int]:
    """Compare every floor's figures with the dashboard's table for `scope`; raise
    AssertionError listing the differences, else return {slug: rows compared}."""
    from reports.views import all_tables

    params = _params(scope)
    tables = all_tables(scope, set(EXPECTED))
    differences, compared = [], {}
    for slug, (_, expect) in EXPECTED.items():
        expected = expect(_run(slug, params), scope)
        differences += compare(slug, tables[slug], expected)
        compared[slug] = len(expected)
    if differences:
        shown = "\n  ".join(differences[:40])
        more = f"\n  … and {len(differences) - 40} more" if len(differences) > 40 else ""
        raise AssertionError(
            f"{len(differences)} dashboard figure(s) differ from their floor SQL:\n  {shown}{more}"
        )
    return compared


def default_scope():
    """The dashboard's default range (the last 12 weeks), for the whole organisation."""
    from reports.forms import DashboardForm

    form = DashboardForm({})
    if not form.is_valid():
        raise RuntimeError(form.errors)
    return form.scope()


def main() -> int:
    import argparse

    from bench.common import DATABASE, PG, django_setup

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=f"{PG}/{DATABASE}")
    parser.add_argument("--check", action="store_true", help="compare every floor with the dashboard")
    args = parser.parse_args()
    django_setup(args.database_url)
    scope = default_scope()
    print(f"scope {scope.first}..{scope.last}, whole organisation", file=sys.stderr)
    if args.check:
        started = time.perf_counter()
        try:
            compared = check(scope)
        except AssertionError as error:
            print(f"floor check FAILED: {error}", file=sys.stderr)
            return 1
        rows = sum(compared.values())
        print(
            f"floor check ok: {len(compared)} tables, {rows} rows, every figure equal to the dashboard's "
            f"({time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
        )
        return 0
    total = 0.0
    for slug in [*SQL, *NO_FLOOR]:
        floor = table_floor(slug, scope)
        total += floor or 0
        shown = f"{floor:9.1f} ms" if floor is not None else f"     none  ({NO_FLOOR[slug]})"
        print(f"{slug:22} {shown}", file=sys.stderr)
    print(f"{'total':22} {total:9.1f} ms", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
