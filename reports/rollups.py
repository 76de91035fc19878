"""The dashboard's counts, kept up to date in rollups instead of recounted from the event log.

At a million leads the weekly dashboard would read ~700,000 events per twelve weeks for each
of its tables. Instead (on PostgreSQL) every lead carries *facts* — its share of each count,
one row per kind, week and keys, rebuilt from its events, clocks and record — and
`FunnelRollup` holds their sums: a few thousand rows, whatever the number of leads.

Exact, not approximate:

- Any write that can change a figure marks the lead *dirty*, by database triggers in the
  writer's own transaction (events, clocks, the lead's record, a rep's team): nothing that
  reaches the database is missed, whichever code path wrote it.
- Before the dashboard reads a rollup, `ready()` refreshes the dirty leads (their old
  facts are subtracted from the rollup and their new ones added, in one transaction that
  holds their dirty marks locked), so the rollup always equals a recount of what is
  committed. With too many dirty leads (a large import a moment ago) the dashboard counts
  from the event log instead, exactly as before, until the beat job has caught up.
- Distinct leads over a range of weeks: each fact remembers the week of the lead's previous
  fact of the same kind and keys (`prev`), so the leads behind weeks first..last are the
  facts in those weeks whose `prev` lies before `first` — a sum, not a COUNT(DISTINCT).
- Velocity counts each lead once per stage, its *last* stay in the range: each stay (its
  'VH' fact and its value) remembers instead the week of the lead's *next* stay-end in the
  same stage (in `prev` and `FunnelValue.next_week`; NO_NEXT when none), so the stays
  behind weeks first..last are those in them whose next lies after `last`.
- tests/reports/test_rollups.py builds random histories through the services and checks
  that every table equals the event-log recount, range by range.

Medians (speed to lead, velocity) are still picked from the rows (reports.metrics), and so
is anything scoped by the lead filters (team, source, campaign, rep, segment): rollups
serve the whole organisation's dashboard. SQLite (the embedded demo) counts from the event
log; there is nothing to keep up to date there.

Kinds (k1, k2 → what n, a, b, c, amount hold):
  E  entered a stage (stage)                      — funnel, weekly
  C  entered MQL (cohort state now: metrics.cohort_state) — cohorts
  O  response or outcome (event type; n events)   — weekly
  R, RS, RC  rejected (reason; source / campaign; n rejections)
  SW, SO, ST SLA clocks resolved (—; owner; team; n clocks, a met on time): a met clock in
              the week it was met, a breached one in the week it was due
  DV, DA  hand-offs (scoring / agreement version; n hand-offs, a accepted, b rejected)
  AS, AC, AR  leads created (source; campaign; referrer; n leads, a/b/c reached MQL/SQL/
              customer, amount revenue won)
  SPL, SPH, VH  measured values: responses per week (SPL); per histogram bucket (k2) the
              responses (SPH) and stays in a stage (VH, k1 the stage; `prev` the next stay's week)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from django.conf import settings
from django.db import OperationalError, connection, transaction

log = logging.getLogger(__name__)

NO_PREV = dt.date(1, 1, 1)  # `prev` of a lead's first fact of its kind and keys
NO_NEXT = dt.date(9999, 12, 31)  # the next week of a value that is its lead's last (or not velocity)
BATCH = 2000

# What the facts and values of the leads in %(ids)s are built from (every lead's, when the
# filter is replaced by TRUE). Only the parts a statement refers to are computed.
SOURCES_SQL = """
WITH live AS (
    SELECT l.id, l.stage, l.source, l.campaign_id, l.referrer_id, l.deal_amount, l.created_at
    FROM leads_lead l WHERE {lead_filter} AND l.merged_into_id IS NULL
),
ev AS (
    SELECT e.id, e.lead_id, e.type, e.from_stage, e.to_stage, e.reason_id, e.data, e.occurred_at, e.stage_since,
           date_trunc('week', e.occurred_at AT TIME ZONE %(tz)s)::date AS week
    FROM leads_leadevent e JOIN live ON live.id = e.lead_id
),
entered AS (
    SELECT lead_id, week, to_stage AS stage, count(*) AS n FROM ev
    WHERE to_stage <> '' AND from_stage <> to_stage GROUP BY lead_id, week, to_stage
),
rejected AS (
    SELECT lead_id, week, reason_id, count(*) AS n FROM ev WHERE type = 'rejected'
    GROUP BY lead_id, week, reason_id
),
-- Cohort state now (the rule is metrics.cohort_state's): in MQL, SQL or customer, that;
-- otherwise the latest rejection, SLA return or loss — or disqualification, while the lead
-- is still disqualified — says: a loss → lost; else sent back (in lead) or disqualified.
left_path AS (
    SELECT DISTINCT ON (ev.lead_id) ev.lead_id, ev.type FROM ev JOIN live ON live.id = ev.lead_id
    WHERE ev.type IN ('rejected', 'returned', 'lost') OR (ev.type = 'disqualified' AND live.stage = 'disqualified')
    ORDER BY ev.lead_id, ev.occurred_at DESC, ev.id DESC
),
cohort AS (
    SELECT live.id AS lead_id,
           CASE WHEN live.stage = 'mql' THEN 'waiting'
                WHEN live.stage IN ('sql', 'customer') THEN live.stage
                WHEN left_path.type = 'lost' THEN 'lost'
                WHEN live.stage = 'lead' THEN 'sent_back'
                ELSE 'disqualified' END AS state
    FROM live LEFT JOIN left_path ON left_path.lead_id = live.id
),
clocks AS (
    SELECT c.lead_id, c.owner_id, m.team_id,
           (c.met_at IS NOT NULL AND c.breached_at IS NULL)::int AS on_time,
           -- resolved: a breached clock at its due time (whenever the breach was detected)
           date_trunc('week', CASE WHEN c.breached_at IS NOT NULL THEN c.due_at ELSE c.met_at END
                      AT TIME ZONE %(tz)s)::date AS week
    FROM sla_clock c JOIN live ON live.id = c.lead_id
    LEFT JOIN leads_membership m ON m.user_id = c.owner_id
    WHERE (c.breached_at IS NOT NULL OR c.met_at IS NOT NULL)
      AND NOT c.measured_only  -- a response measured in another CRM: speed to lead only
),
answers AS (
    SELECT lead_id, week, type, data,
           lead(type) OVER (PARTITION BY lead_id ORDER BY occurred_at, id) AS answer
    FROM ev WHERE type IN ('qualified', 'accepted', 'rejected')
),
handoffs AS (
    SELECT lead_id, week, coalesce(data ->> 'scoring_version', '') AS scoring,
           coalesce(data ->> 'agreement_version', '') AS agreement,
           coalesce((answer = 'accepted')::int, 0) AS accepted,
           coalesce((answer = 'rejected')::int, 0) AS rejected
    FROM answers WHERE type = 'qualified'
),
flags AS (
    SELECT lead_id, bool_or(type = 'qualified')::int AS mql, bool_or(type = 'accepted')::int AS sql,
           bool_or(type = 'won')::int AS customer
    FROM ev WHERE type IN ('qualified', 'accepted', 'won') GROUP BY lead_id
),
reached AS (
    SELECT live.*, date_trunc('week', live.created_at AT TIME ZONE %(tz)s)::date AS week,
           coalesce(flags.mql, 0) AS mql, coalesce(flags.sql, 0) AS sql, coalesce(flags.customer, 0) AS customer
    FROM live LEFT JOIN flags ON flags.lead_id = live.id
),
responses AS (
    SELECT c.lead_id, c.business_seconds::bigint AS value,
           date_trunc('week', c.met_at AT TIME ZONE %(tz)s)::date AS week
    FROM sla_clock c JOIN live ON live.id = c.lead_id
    WHERE c.obligation = 'response' AND c.met_at IS NOT NULL AND c.business_seconds IS NOT NULL
),
stays AS (
    SELECT lead_id, week, from_stage AS stage,
           (extract(epoch FROM occurred_at - stage_since) * 1000000)::bigint AS value,
           coalesce(lead(week) OVER (PARTITION BY lead_id, from_stage ORDER BY occurred_at, id),
                    %(never)s::date) AS next
    FROM ev WHERE stage_since IS NOT NULL AND from_stage <> '' AND to_stage <> '' AND from_stage <> to_stage
),
measured AS (
    SELECT lead_id, 'SP' AS kind, '' AS k1, week, value, %(never)s::date AS next FROM responses
    UNION ALL
    SELECT lead_id, 'V', stage, week, value, next FROM stays
),
bucketed AS (
    SELECT *, floor(4 * ln(greatest(value, 0) + 1) / ln(2))::int AS bucket FROM measured
)
"""
FACTS_SELECT = """
SELECT 'E', lead_id, week, coalesce(lag(week) OVER (PARTITION BY lead_id, stage ORDER BY week), %(none)s),
       stage, '', n, 0, 0, 0, 0 FROM entered
UNION ALL
SELECT 'C', en.lead_id, en.week, %(none)s, cohort.state, '', en.n, 0, 0, 0, 0
FROM entered en JOIN cohort ON cohort.lead_id = en.lead_id WHERE en.stage = 'mql'
UNION ALL
SELECT 'O', lead_id, week, %(none)s, type, '', count(*), 0, 0, 0, 0 FROM ev
WHERE type IN ('accepted', 'rejected', 'won', 'lost') GROUP BY lead_id, week, type
UNION ALL
SELECT kind.code, r.lead_id, r.week,
       coalesce(lag(r.week) OVER (PARTITION BY kind.code, r.lead_id, r.reason_id ORDER BY r.week), %(none)s),
       coalesce(r.reason_id::text, ''),
       CASE kind.code WHEN 'RS' THEN live.source WHEN 'RC' THEN coalesce(live.campaign_id::text, '') ELSE '' END,
       r.n, 0, 0, 0, 0
FROM rejected r JOIN live ON live.id = r.lead_id CROSS JOIN (VALUES ('R'), ('RS'), ('RC')) AS kind(code)
UNION ALL
SELECT kind, lead_id, week, coalesce(lag(week) OVER (PARTITION BY kind, lead_id, k ORDER BY week), %(none)s),
       k, '', n, a, 0, 0, 0
FROM (
    SELECT 'SW' AS kind, lead_id, week, '' AS k, count(*) AS n, sum(on_time) AS a FROM clocks
    GROUP BY lead_id, week
    UNION ALL
    SELECT 'SO', lead_id, week, owner_id::text, count(*), sum(on_time) FROM clocks GROUP BY lead_id, week, owner_id
    UNION ALL
    SELECT 'ST', lead_id, week, coalesce(team_id::text, ''), count(*), sum(on_time) FROM clocks
    GROUP BY lead_id, week, team_id
) AS resolved
UNION ALL
SELECT kind, lead_id, week, coalesce(lag(week) OVER (PARTITION BY kind, lead_id, k ORDER BY week), %(none)s),
       k, '', n, a, b, 0, 0
FROM (
    SELECT 'DV' AS kind, lead_id, week, scoring AS k, count(*) AS n, sum(accepted) AS a, sum(rejected) AS b
    FROM handoffs GROUP BY lead_id, week, scoring
    UNION ALL
    SELECT 'DA', lead_id, week, agreement, count(*), sum(accepted), sum(rejected) FROM handoffs
    GROUP BY lead_id, week, agreement
) AS versions
UNION ALL
SELECT kind.code, r.id, r.week, %(none)s,
       CASE kind.code WHEN 'AS' THEN r.source WHEN 'AC' THEN coalesce(r.campaign_id::text, '')
            ELSE r.referrer_id::text END,
       '', 1, r.mql, r.sql, r.customer, CASE WHEN r.customer = 1 THEN coalesce(r.deal_amount, 0) ELSE 0 END
FROM reached r CROSS JOIN (VALUES ('AS'), ('AC'), ('AR')) AS kind(code)
WHERE kind.code <> 'AR' OR r.referrer_id IS NOT NULL
UNION ALL
SELECT 'SPL', lead_id, week, coalesce(lag(week) OVER (PARTITION BY lead_id ORDER BY week), %(none)s),
       '', '', n, 0, 0, 0, 0
FROM (SELECT lead_id, week, count(*) AS n FROM measured WHERE kind = 'SP' GROUP BY lead_id, week) AS counted
UNION ALL
SELECT kind || 'H', lead_id, week, next, k1, bucket::text, count(*), 0, 0, 0, 0 FROM bucketed
GROUP BY kind, lead_id, week, next, k1, bucket
"""
VALUES_SELECT = "SELECT lead_id, kind, k1, week, bucket, value, next FROM bucketed"
VALUE_COLUMNS = "lead_id, kind, k1, week, bucket, value, next_week"
FACT_COLUMNS = "kind, lead_id, week, prev, k1, k2, n, a, b, c, amount"
ROLLUP_UPSERT = """
INSERT INTO reports_funnelrollup AS r (kind, week, prev, k1, k2, leads, n, a, b, c, amount)
SELECT kind, week, prev, k1, k2, sum(leads), sum(n), sum(a), sum(b), sum(c), sum(amount) FROM ({changes}) AS d
GROUP BY kind, week, prev, k1, k2
ON CONFLICT (kind, week, prev, k1, k2) DO UPDATE SET
    leads = r.leads + excluded.leads, n = r.n + excluded.n, a = r.a + excluded.a,
    b = r.b + excluded.b, c = r.c + excluded.c, amount = r.amount + excluded.amount
"""


def supported() -> bool:
    return connection.vendor == "postgresql"


def _params(**extra) -> dict:
    return {"tz": settings.SMARKETING_TIME_ZONE, "none": NO_PREV, "never": NO_NEXT, **extra}


def refresh(lead_ids: list[int]) -> None:
    """Rebuild these leads' facts and move the rollup by the difference, in one statement
    (the caller's transaction holds their dirty marks)."""
    if not lead_ids:
        return
    sources = SOURCES_SQL.format(lead_filter="l.id = ANY(%(ids)s)")
    sql = f"""
    {sources},
    old AS (
        DELETE FROM reports_funnelfact WHERE lead_id = ANY(%(ids)s) RETURNING {FACT_COLUMNS}
    ), new AS (
        INSERT INTO reports_funnelfact ({FACT_COLUMNS}) {FACTS_SELECT} RETURNING {FACT_COLUMNS}
    )
    {
        ROLLUP_UPSERT.format(
            changes='''
        SELECT kind, week, prev, k1, k2, 1 AS leads, n, a, b, c, amount FROM new
        UNION ALL
        SELECT kind, week, prev, k1, k2, -1, -n, -a, -b, -c, -amount FROM old
    '''
        )
    }
    """  # noqa: S608 - fixed SQL, values are parameters
    params = _params(ids=list(lead_ids))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.execute("DELETE FROM reports_funnelvalue WHERE lead_id = ANY(%(ids)s)", params)
        cursor.execute(f"{sources} INSERT INTO reports_funnelvalue ({VALUE_COLUMNS}) {VALUES_SELECT}", params)


def rebuild() -> int:
    """Every lead's facts and the whole rollup from scratch (after a bulk load, or to check).
    Returns the number of facts.

    Migrations that install or change the rollups call it (reports 0003, 0005). With no lead
    there is nothing to build, and it stops after emptying the tables: a new database
    passes through reports 0003 before the columns later migrations add exist."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE reports_dirtylead IN EXCLUSIVE MODE")
        cursor.execute(
            "TRUNCATE reports_funnelfact, reports_funnelrollup, reports_funnelvalue, reports_dirtylead"
        )
        cursor.execute("SELECT EXISTS (SELECT 1 FROM leads_lead)")
        if not cursor.fetchone()[0]:
            return 0
        sources = SOURCES_SQL.format(lead_filter="TRUE")
        cursor.execute(f"{sources} INSERT INTO reports_funnelfact ({FACT_COLUMNS}) {FACTS_SELECT}", _params())
        facts = cursor.rowcount
        cursor.execute(
            f"{sources} INSERT INTO reports_funnelvalue ({VALUE_COLUMNS}) {VALUES_SELECT}", _params()
        )
        cursor.execute(
            ROLLUP_UPSERT.format(
                changes="SELECT kind, week, prev, k1, k2, 1 AS leads, n, a, b, c, amount FROM reports_funnelfact"
            )
        )
        cursor.execute("ANALYZE reports_funnelfact")
        cursor.execute("ANALYZE reports_funnelvalue")
        cursor.execute("ANALYZE reports_funnelrollup")
    return facts


def catch_up(limit: int | None = None) -> int | None:
    """Refresh up to `limit` dirty leads (all of them with None), in batches; the number
    refreshed, or None when more than `limit` were dirty (nothing is done then)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM reports_dirtylead)")
        if not cursor.fetchone()[0]:
            return 0
    done = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            if limit is not None:
                cursor.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM reports_dirtylead LIMIT %s) AS d", [limit + 1]
                )
                if cursor.fetchone()[0] > limit:
                    return None
            # Locked in id order (writers wait for the refresh, then mark again); a lead a
            # writer holds marked is waited for, so what it committed before is counted.
            cursor.execute(
                "SELECT lead_id FROM reports_dirtylead ORDER BY lead_id LIMIT %s FOR UPDATE", [BATCH]
            )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return done
            refresh(ids)
            cursor.execute("DELETE FROM reports_dirtylead WHERE lead_id = ANY(%s)", [ids])
            done += len(ids)
        if limit is not None and done >= limit:
            return done


def ready() -> bool:
    """May the dashboard read the rollup now? Yes on PostgreSQL once the few dirty leads
    are refreshed; no (count from the event log) when too many are, or the refresh had to
    wait too long for a writer."""
    if not supported() or not settings.ROLLUPS_ENABLED:
        return False
    try:
        # More dirty leads than the limit (a large import a moment ago): count from the
        # event log this time; the beat job refreshes them in the background.
        return catch_up(settings.ROLLUP_READ_REFRESH_LIMIT) is not None
    except OperationalError:  # lock timeout: a long writer holds some of the marks
        log.warning("rollup refresh waited too long; counting from the event log")
        return False


_READY: ContextVar[bool | None] = ContextVar("rollups_ready", default=None)


@contextmanager
def reading():
    """Check (and refresh) once for a whole dashboard build: its tables then read the same
    state, and the check costs one query, not one per table."""
    token = _READY.set(ready())
    try:
        yield
    finally:
        _READY.reset(token)


def is_ready() -> bool:
    checked = _READY.get()
    return ready() if checked is None else checked


# --- reading --------------------------------------------------------------------------------------


def _rows(kind: str, first: dt.date, last: dt.date, *, distinct: bool, by: str) -> list[tuple]:
    """Per `by` (columns of the rollup): leads, n, a, b, c, amount summed over the weeks
    first..last (Mondays). `distinct`: leads once over the whole range (prev before first)."""
    leads = "sum(leads) FILTER (WHERE prev < %(first)s)" if distinct else "sum(leads)"
    sql = f"""
        SELECT {by}, {leads}, sum(n), sum(a), sum(b), sum(c), sum(amount) FROM reports_funnelrollup
        WHERE kind = %(kind)s AND week >= %(first)s AND week <= %(last)s
        GROUP BY {by} HAVING sum(leads) <> 0 OR sum(n) <> 0
    """  # noqa: S608 - `by` is one of this module's column lists
    with connection.cursor() as cursor:
        cursor.execute(sql, {"kind": kind, "first": first, "last": last})
        return [(*row[:-6], int(row[-6] or 0), *map(int, row[-5:-1]), row[-1]) for row in cursor.fetchall()]


def entered_by_week(first: dt.date, last: dt.date) -> dict[tuple[dt.date, str], int]:
    return {
        (week, stage): leads
        for week, stage, leads, *_ in _rows("E", first, last, distinct=False, by="week, k1")
    }


def outcomes_by_week(first: dt.date, last: dt.date) -> dict[tuple[dt.date, str], tuple[int, int]]:
    """(week, event type) → (events, leads)."""
    return {
        (week, kind): (n, leads)
        for week, kind, leads, n, *_ in _rows("O", first, last, distinct=False, by="week, k1")
    }


def entered_totals(first: dt.date, last: dt.date) -> dict[str, int]:
    return {stage: leads for stage, leads, *_ in _rows("E", first, last, distinct=True, by="k1")}


def cohorts(first: dt.date, last: dt.date) -> dict[tuple[dt.date, str], int]:
    """(MQL week, cohort state now) → leads."""
    return {
        (week, stage): leads
        for week, stage, leads, *_ in _rows("C", first, last, distinct=False, by="week, k1")
    }


def rejections(first: dt.date, last: dt.date, by: str | None) -> list[tuple]:
    """(reason id, source or campaign id or '', rejections, leads) over the range."""
    kind = {None: "R", "source": "RS", "campaign": "RC"}[by]
    return [
        (reason, key, n, leads)
        for reason, key, leads, n, *_ in _rows(kind, first, last, distinct=True, by="k1, k2")
    ]


def sla(first: dt.date, last: dt.date, by: str) -> list[tuple]:
    """(key, resolved, met on time, leads): key is the week, the owner id or the team id ('' none)."""
    if by == "week":
        rows = _rows("SW", first, last, distinct=False, by="week")
    else:
        rows = _rows({"owner": "SO", "team": "ST"}[by], first, last, distinct=True, by="k1")
    return [(key, n, a, leads) for key, leads, n, a, *_ in rows]


def handoffs(first: dt.date, last: dt.date, by: str) -> list[tuple]:
    """(version or '', hand-offs, leads, accepted, rejected) over the range."""
    kind = {"scoring_version": "DV", "agreement_version": "DA"}[by]
    return [
        (key, n, leads, a, b) for key, leads, n, a, b, *_ in _rows(kind, first, last, distinct=True, by="k1")
    ]


def created(first: dt.date, last: dt.date, by: str) -> list[tuple]:
    """(source / campaign id / referrer id, leads, MQLs, SQLs, customers, revenue) for the
    leads created in the range."""
    kind = {"source": "AS", "campaign": "AC", "referrer": "AR"}[by]
    return [
        (key, n, a, b, c, amount or Decimal(0))
        for key, _, n, a, b, c, amount in _rows(kind, first, last, distinct=False, by="k1")
    ]


def counted(kind: str, first: dt.date, last: dt.date, *, per_week: bool) -> dict:
    """Measured values ('SP' speed): per week or per k1 over the range, (values, distinct
    leads). (Velocity needs none: it counts each lead once per stage, its values are its leads.)"""
    if per_week:
        rows = _rows(f"{kind}L", first, last, distinct=False, by="week")
    else:
        rows = _rows(f"{kind}L", first, last, distinct=True, by="k1")
    return {key: (n, leads) for key, leads, n, *_ in rows}


def picks(kind: str, first: dt.date, last: dt.date, *, per_week: bool) -> dict:
    """Per week (per_week) or per k1 over the range: (n, {rank: value}) for the ranks a
    median and a 90th percentile need — the same as `metrics._ranked` finds by sorting every
    row, found here by reading each group's histogram, then only the values of the buckets
    those ranks fall in. Only values whose next week lies after `last` are read: for
    velocity each lead's last stay in a stage in the range; every response for speed."""
    group = "week" if per_week else "k1"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {group}, k2::int AS bucket, sum(n) FROM reports_funnelrollup
            WHERE kind = %(kind)s AND week >= %(first)s AND week <= %(last)s AND prev > %(last)s
            GROUP BY {group}, bucket HAVING sum(n) <> 0 ORDER BY {group}, bucket""",  # noqa: S608 - fixed
            {"kind": f"{kind}H", "first": first, "last": last},
        )
        histogram: dict = defaultdict(list)
        for key, bucket, n in cursor.fetchall():
            histogram[key].append((bucket, int(n)))
        wanted: dict = {}  # (key, bucket) → {rank in bucket: rank overall}
        sizes = {}
        for key, buckets in histogram.items():
            size = sum(n for _, n in buckets)
            sizes[key] = size
            ranks = {(size + 1) // 2, size // 2 + 1, (9 * size + 9) // 10}
            before = 0
            for bucket, n in buckets:
                for rank in ranks:
                    if before < rank <= before + n:
                        wanted.setdefault((key, bucket), {})[rank - before] = rank
                before += n
        if not wanted:
            return {}
        # One ordered read per rank, each inside one bucket (and one week, for speed): the
        # index (kind, k1, bucket, week, value) hands over just that bucket's rows.
        parts, params = [], []
        for (key, bucket), ranks in wanted.items():
            for position, rank in ranks.items():
                where = "week = %s" if per_week else "week >= %s AND week <= %s"
                parts.append(
                    "(SELECT %s::text AS key, %s AS rank, value FROM reports_funnelvalue "  # noqa: S608 - fixed text
                    f"WHERE kind = %s AND k1 = %s AND bucket = %s AND {where} AND next_week > %s "
                    "ORDER BY value OFFSET %s LIMIT 1)"
                )
                params += [str(key), rank, kind, "" if per_week else key, bucket]
                params += [key] if per_week else [first, last]
                params += [last, position - 1]
        cursor.execute(" UNION ALL ".join(parts), params)
        keys = {str(key): key for key in sizes}
        result: dict = {}
        for key, rank, value in cursor.fetchall():
            key = keys[key]
            result.setdefault(key, (sizes[key], {}))[1][rank] = value
    return result
