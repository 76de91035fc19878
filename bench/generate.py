"""Fill a PostgreSQL database with a synthetic organisation and N leads of history, fast.

    .venv/bin/python -m bench.generate --leads 1000000 --fresh
    .venv/bin/python -m bench.generate --leads 900000 --first 100001   # grow to 1M

Two years of funnel, deterministic by seed: each lead's whole life is drawn from its own
random stream (seed, lead number), so the same lead is the same whether it was generated
in one go or by growing a smaller database. About five events per lead (created, profile
edits, hand-off, accept or reject, win or loss, disqualification, reassignment), one or
two engagements, the rep's touches on SQLs, and the SLA clocks of every hand-off and SQL
(met, late, breached, a few still running), written with COPY. The lead, event and clock
indexes are dropped for the load and built again after it (that is what a restore does),
the dashboard's rollup is rebuilt from the result (reports.rollups.rebuild; the triggers
that mark changed leads are off during the load), then the tables are analysed.

The organisation: bench.manager (manages the sales team), bench.marketer, bench.rep1..12
(the sales team) and bench.admin, with the password in bench.common.PASSWORD; 40 campaigns.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import random
import subprocess
import sys
import time

from bench.common import DATABASE, MANAGER, MARKETER, PASSWORD, PG, PY, REPS, ROOT, environment

YEARS = 2
SOURCES = [  # first-touch source and its weight
    ("website", 22),
    ("organic_search", 14),
    ("paid_search", 16),
    ("paid_social", 8),
    ("social", 5),
    ("email", 9),
    ("event", 7),
    ("webinar", 8),
    ("referral", 3),
    ("partner", 4),
    ("list_import", 3),
    ("other", 1),
]
FIRST = [
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Klara",
    "Lukas",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Ugo",
    "Vera",
    "Wim",
    "Yara",
    "Zoe",
]
LAST = [
    "Schmidt",
    "Meyer",
    "Weber",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krause",
    "Hartmann",
    "Lange",
    "Werner",
    "Lehmann",
    "Walter",
    "Garcia",
    "Martin",
    "Rossi",
    "Novak",
    "Jensen",
    "Silva",
    "Kowalski",
    "Dubois",
    "Nielsen",
    "Moreau",
]
WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Cyberdyne",
    "Soylent",
    "Tyrell",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Aperture",
    "Black Mesa",
    "Massive",
    "Dunder",
    "Pied Piper",
    "Prestige",
    "Nakatomi",
    "Monarch",
    "Sirius",
    "Zorg",
    "Virtucon",
    "Genco",
    "Bluth",
    "Krusty",
    "Ollivander",
]
SUFFIX = ["GmbH", "AG", "Ltd", "Inc", "SE", "BV", "Group", "Systems", "Labs", "Logistics", "Health", "Energy"]
TITLES = [
    "Head of Marketing",
    "CFO",
    "CTO",
    "Operations Manager",
    "Sales Director",
    "Analyst",
    "CEO",
    "Procurement Lead",
    "IT Manager",
    "VP Revenue",
]
COUNTRIES = ["DE", "AT", "CH", "FR", "NL", "GB", "US", "ES", "IT", "PL", "SE", "DK"]
ENGAGEMENTS = [
    ("page_view", 5, "Visited {p}"),
    ("pricing_page", 15, "Pricing page"),
    ("content_download", 10, "Downloaded the {t} guide"),
    ("webinar_registered", 5, "Registered: {t} webinar"),
    ("webinar_attended", 20, "Attended: {t} webinar"),
    ("event_attended", 20, "Met us at {e}"),
    ("email_click", 3, "Clicked the {m} newsletter"),
    ("form_submit", 10, "Contact form"),
    ("demo_request", 40, "Requested a demo"),
]
PAGES = ["the home page", "the case studies", "the integrations page", "the blog", "the security page"]
TOPICS = ["pipeline hygiene", "lead scoring", "SLA design", "attribution", "forecasting", "ABM", "RevOps"]
EVENTS = ["SaaStock", "DMEXCO", "Web Summit", "the Berlin roadshow", "the partner day", "B2B Marketing Expo"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
TOUCHES = [
    ("call", "connected"),
    ("call", "no_answer"),
    ("call", "left_message"),
    ("email", "replied"),
    ("email", "no_answer"),
    ("meeting", "meeting_booked"),
    ("meeting", "meeting_held"),
]
RESPONSE_DUE = dt.timedelta(hours=8)  # the hand-off's response clock (simplified business time)
FOLLOW_UP_DUE = dt.timedelta(days=3)


def _copy_text(value) -> str:
    """A value in COPY's text format. Every string here comes from this module's own
    vocabulary (no tab, newline or backslash), so none needs escaping."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return "\\N"
    if kind is int:
        return str(value)
    if kind is dt.datetime:
        return value.isoformat()
    if kind is dict or kind is list:
        return json.dumps(value, separators=(",", ":"))
    if kind is bool:
        return "t" if value else "f"
    return str(value)


class Table:
    """Rows for one table, COPYed in blocks (all tables at once, parents first) so memory
    stays flat whatever N is."""

    def __init__(self, cursor, name: str, columns: list[str]) -> None:
        self.cursor, self.name, self.columns = cursor, name, columns
        self.rows: list[str] = []
        self.count = 0

    def add(self, *values) -> None:
        self.rows.append("\t".join(map(_copy_text, values)))

    def flush(self) -> None:
        if not self.rows:
            return
        data = io.StringIO("\n".join(self.rows) + "\n")
        self.cursor.copy_expert(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN", data)
        self.count += len(self.rows)
        self.rows = []


def _organisation(env: dict) -> dict:
    """The people, teams and campaigns, through Django (a few dozen rows)."""
    import os

    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from smarketing.agreement.models import Reason
    from smarketing.org.models import Campaign, Membership, Team, TeamKind
    from smarketing.org.roles import Role

    User = get_user_model()
    password = make_password(PASSWORD)

    def person(username: str, first: str, last: str, role: str | None, **extra):
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@bench.example",
                "password": password,
                **extra,
            },
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    manager = person(MANAGER, "Maren", "Manager", Role.MANAGER)
    marketer = person(MARKETER, "Mark", "Marketer", Role.MARKETER)
    person("bench.admin", "Ada", "Admin", Role.ADMIN, is_staff=True, is_superuser=True)
    reps = [person(name, "Rep", f"Number {n}", Role.SALES_REP) for n, name in enumerate(REPS, 1)]
    sales, _ = Team.objects.get_or_create(
        name="Bench sales", defaults={"kind": TeamKind.SALES, "manager": manager}
    )
    marketing, _ = Team.objects.get_or_create(name="Bench marketing", defaults={"kind": TeamKind.MARKETING})
    for rep in reps:
        Membership.objects.get_or_create(user=rep, defaults={"team": sales})
    Membership.objects.get_or_create(user=marketer, defaults={"team": marketing})
    rng = random.Random(7)
    campaigns = []
    for n in range(40):
        channel = ["paid_search", "paid_social", "email", "event", "webinar", "content", "partner"][n % 7]
        campaign, _ = Campaign.objects.get_or_create(
            name=f"{MONTHS[n % 12]} {channel.replace('_', ' ')} {2025 + n // 20} #{n + 1}",
            defaults={"channel": channel, "cost": rng.randrange(2_000, 60_000)},
        )
        campaigns.append(campaign.pk)
    reasons = {
        kind: list(Reason.objects.filter(kind=kind).values_list("id", "loss_outcome"))
        for kind in ("rejection", "loss", "disqualification")
    }
    return {
        "marketer": marketer.pk,
        "manager": manager.pk,
        "reps": [rep.pk for rep in reps],
        "campaigns": campaigns,
        "reasons": reasons,
    }


def _expo(rng: random.Random, mean: float) -> float:
    return -mean * math.log(1.0 - rng.random())


class Generator:
    def __init__(self, org: dict, seed: int, until: dt.datetime) -> None:
        self.org, self.seed, self.until = org, seed, until
        self.since = until - dt.timedelta(days=365 * YEARS)
        self.sources = [s for s, _ in SOURCES]
        self.weights = [w for _, w in SOURCES]

    def lead(self, n: int, out: dict[str, Table], ids: dict[str, int]) -> None:
        """Lead number n (1-based): its row and its whole history."""
        rng = random.Random(self.seed * 1_000_003 + n)
        org = self.org
        span = (self.until - self.since).total_seconds()
        created = self.since + dt.timedelta(seconds=int(span * rng.random() ** 0.8))  # growing business
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIX)}"
        email = f"{first}.{last}.{n}@{company.split()[0].lower()}{n % 997}.example".lower()
        source = rng.choices(self.sources, self.weights)[0]
        campaign = rng.choice(org["campaigns"]) if rng.random() < 0.6 else None
        referrer = rng.choice(org["reps"]) if source == "referral" else None
        score = rng.randrange(0, 100)
        marketer, reps = org["marketer"], org["reps"]
        events: list[tuple] = []  # (type, from, to, actor, at, reason, data, stage_since)
        clocks: list[tuple] = []  # (obligation, owner, started, due, met, breached, business_seconds)
        touches: list[tuple] = []
        stage, entered, owner = "lead", created, None
        qualified_at = qualified_by = None
        deal_amount = closed_on = None
        recycle = 0

        def move(kind, to, at, actor, reason=None, data=None):
            nonlocal stage, entered
            events.append((kind, stage, to, actor, at, reason, data or {}, entered))
            stage, entered = to, at

        events.append(
            (
                "created",
                "",
                "lead",
                marketer,
                created,
                None,
                {"source": source, "campaign": campaign, "referrer": referrer, "via": "form"},
                None,
            )
        )
        horizon = min(self.until, created + dt.timedelta(days=90))
        for _ in range(rng.randrange(1, 6)):  # profile edits, scoring updates
            at = created + dt.timedelta(seconds=rng.random() * (horizon - created).total_seconds())
            events.append(
                ("updated", "", "", marketer, at, None, {"changes": {"job_title": ["", "x"]}}, None)
            )
        if rng.random() < 0.45:
            handoff = created + dt.timedelta(days=_expo(rng, 6))
            if handoff < self.until:
                owner = rng.choice(reps)
                qualified_at, qualified_by = handoff, marketer
                version = 1 + int(4 * (handoff - self.since).total_seconds() / span)
                move(
                    "qualified",
                    "mql",
                    handoff,
                    marketer,
                    data={
                        "owner": owner,
                        "scoring_version": version,
                        "agreement_version": None,
                        "score": score,
                    },
                )
                due = handoff + RESPONSE_DUE
                delay = dt.timedelta(hours=rng.lognormvariate(1.2, 1.0))
                responded = handoff + delay
                draw = rng.random()
                if draw > 0.95 or responded >= self.until:  # no answer yet
                    breached = due if due < self.until else None
                    clocks.append(("response", owner, handoff, due, None, breached, None))
                else:
                    breached = due if responded > due else None
                    clocks.append(
                        (
                            "response",
                            owner,
                            handoff,
                            due,
                            responded,
                            breached,
                            int(delay.total_seconds() * 0.6),
                        )
                    )
                    if draw < 0.68:
                        move("accepted", "sql", responded, owner, data={"response_on_time": breached is None})
                        first_touch = responded + dt.timedelta(hours=_expo(rng, 30))
                        for k in range(rng.randrange(1, 5)):
                            at = first_touch + dt.timedelta(days=k * _expo(rng, 4))
                            if at < self.until:
                                touches.append((*rng.choice(TOUCHES), at, owner))
                        follow_due = responded + FOLLOW_UP_DUE
                        met = touches[0][2] if touches else None
                        clocks.append(
                            (
                                "follow_up",
                                owner,
                                responded,
                                follow_due,
                                met,
                                follow_due if (met or self.until) > follow_due else None,
                                None,
                            )
                        )
                        if rng.random() < 0.1:
                            new_owner = rng.choice(reps)
                            at = responded + dt.timedelta(days=_expo(rng, 5))
                            if at < self.until and new_owner != owner:
                                events.append(
                                    (
                                        "reassigned",
                                        "",
                                        "",
                                        org["manager"],
                                        at,
                                        None,
                                        {"from_owner": owner, "owner": new_owner},
                                        None,
                                    )
                                )
                                owner = new_owner
                        outcome = rng.random()
                        closed = responded + dt.timedelta(days=_expo(rng, 35))
                        if closed < self.until and outcome < 0.25:
                            deal_amount = rng.randrange(5, 250) * 1000
                            closed_on = closed.date()
                            move(
                                "won",
                                "customer",
                                closed,
                                owner,
                                data={"amount": str(deal_amount), "closed_on": closed_on.isoformat()},
                            )
                        elif closed < self.until and outcome < 0.6:
                            reason, loss = rng.choice(org["reasons"]["loss"])
                            to = "lead" if loss == "recycle" else "disqualified"
                            move("lost", to, closed, owner, reason, {"owner": owner, "outcome": loss})
                            if to == "lead":
                                recycle += 1
                            owner = None
                    else:
                        reason, _ = rng.choice(org["reasons"]["rejection"])
                        recycle += 1
                        move(
                            "rejected",
                            "lead",
                            responded,
                            owner,
                            reason,
                            {"owner": owner, "recycle_count": recycle, "response_on_time": breached is None},
                        )
                        owner = None
        elif rng.random() < 0.06:
            at = created + dt.timedelta(days=_expo(rng, 20))
            if at < self.until:
                reason, _ = rng.choice(org["reasons"]["disqualification"])
                move("disqualified", "disqualified", at, marketer, reason)

        lead_id = ids["lead"] = ids["lead"] + 1
        events.sort(key=lambda e: e[4])
        out["lead"].add(
            lead_id,
            first,
            last,
            email,
            "",
            company,
            rng.choice(TITLES),
            rng.randrange(5, 5000),
            rng.choice(COUNTRIES),
            "",
            source,
            stage,
            entered,
            qualified_at,
            score,
            recycle,
            deal_amount,
            closed_on,
            1,
            created,
            entered,
            campaign,
            marketer,
            None,
            owner,
            qualified_by,
            referrer,
            [],
            created,
            1,
            None,
        )
        for kind, from_stage, to_stage, actor, at, reason, data, since in events:
            ids["event"] += 1
            out["event"].add(
                ids["event"],
                kind,
                from_stage,
                to_stage,
                at,
                "",
                data,
                actor,
                lead_id,
                reason,
                since if from_stage and to_stage and from_stage != to_stage else None,
            )
        for _ in range(rng.randrange(0, 4)):
            kind, points, title = rng.choice(ENGAGEMENTS)
            at = created - dt.timedelta(days=_expo(rng, 10))
            title = title.format(
                p=rng.choice(PAGES), t=rng.choice(TOPICS), e=rng.choice(EVENTS), m=rng.choice(MONTHS)
            )
            ids["engagement"] += 1
            out["engagement"].add(
                ids["engagement"], kind, at, title, "", points, "bench", "", at, None, lead_id
            )
        for kind, outcome, at, by in touches:
            ids["touch"] += 1
            out["touch"].add(ids["touch"], kind, outcome, at, "", at, by, lead_id)
        for obligation, clock_owner, started, due, met, breached, seconds in clocks:
            ids["clock"] += 1
            out["clock"].add(
                ids["clock"],
                obligation,
                started,
                due,
                None,
                None,
                met,
                breached,
                None,
                started,
                lead_id,
                clock_owner,
                [75],
                0,
                None,
                None,
                seconds,
            )


COLUMNS = {
    "lead": (
        "leads_lead",
        "id first_name last_name email phone company job_title company_size country website "
        "source stage stage_entered_at qualified_at score recycle_count deal_amount closed_on version "
        "created_at updated_at campaign_id created_by_id merged_into_id owner_id qualified_by_id "
        "referrer_id score_receipt scored_at scored_version agreement_version",
    ),
    "event": (
        "leads_leadevent",
        "id type from_stage to_stage occurred_at note data actor_id lead_id reason_id stage_since",
    ),
    "engagement": (
        "leads_engagement",
        "id type occurred_at title url points origin external_id created_at logged_by_id lead_id",
    ),
    "touch": ("leads_touch", "id kind outcome occurred_at note created_at by_id lead_id"),
    "clock": (
        "sla_clock",
        "id obligation started_at due_at warn_at warned_at met_at breached_at cancelled_at "
        "created_at lead_id owner_id warn_percents warnings_sent policy_id snoozed_until business_seconds",
    ),
}


def fresh(database_url: str) -> None:
    name = database_url.rsplit("/", 1)[1]
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    env = environment(database_url)
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def generate(
    database_url: str, *, leads: int, first: int = 1, seed: int = 42, until: dt.date | None = None, log=None
) -> dict:
    """Generate leads number `first`..`first + leads - 1`; returns the row counts written."""
    log = log or (lambda text: print(text, flush=True))
    env = environment(database_url)
    org = _organisation(env)
    from django.db import connection
    from django.utils import timezone

    from smarketing.core.weeks import org_tz

    day = until or timezone.localdate()
    end = dt.datetime.combine(day, dt.time(18), tzinfo=org_tz())
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        indexes = []
        for table in ("leads_lead", "leads_leadevent", "sla_clock", "leads_engagement", "leads_touch"):
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                [table],
            )
            indexes += cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # The rollup is rebuilt once at the end, set-based, instead of marking every lead dirty.
        for table in ("leads_lead", "leads_leadevent", "sla_clock"):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        ids = {}
        for key, (table, _) in COLUMNS.items():
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - our own table names
            ids[key] = cursor.fetchone()[0]
        out = {key: Table(raw, table, columns.split()) for key, (table, columns) in COLUMNS.items()}
        generator = Generator(org, seed, end)
        for n in range(first, first + leads):
            generator.lead(n, out, ids)
            if (n - first + 1) % 20_000 == 0:
                for table in out.values():  # in COLUMNS' order: leads before what points at them
                    table.flush()
            if (n - first + 1) % 100_000 == 0:
                log(f"  {n - first + 1:,} leads generated ({time.perf_counter() - started:.0f} s)")
        for table in out.values():
            table.flush()
        log(f"  rows copied in {time.perf_counter() - started:.0f} s; building {len(indexes)} indexes")
        for _, definition in indexes:
            cursor.execute(definition)
        for table, _ in COLUMNS.values():
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )  # noqa: S608
        for table in ("leads_lead", "leads_leadevent", "sla_clock"):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        from reports import rollups

        log(f"  rows and indexes in {time.perf_counter() - started:.0f} s; building the dashboard rollup")
        rollups.rebuild()
        for table in [table for table, _ in COLUMNS.values()] + [
            "reports_funnelrollup",
            "reports_funnelvalue",
        ]:
            cursor.execute(f"VACUUM ANALYZE {table}")
    counts = {key: table.count for key, table in out.items()}
    log(f"  done in {time.perf_counter() - started:.0f} s: {counts}")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=f"{PG}/{DATABASE}")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--first", type=int, default=1, help="number of the first lead (to grow a database)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--until", type=dt.date.fromisoformat, help="the last day of history (default today)")
    parser.add_argument("--fresh", action="store_true", help="drop, create and migrate the database first")
    args = parser.parse_args()
    if args.fresh:
        fresh(args.database_url)
    generate(args.database_url, leads=args.leads, first=args.first, seed=args.seed, until=args.until)
    return 0


if __name__ == "__main__":
    sys.exit(main())
