"""Pages and reads at scale: the weekly dashboard, the lead list (search, filters, sorts),
the lead page and the timeline — server time, each beside its floor.

    .venv/bin/python -m bench.web --size 1000000

Requests go through the whole Django stack in this process (middleware, permissions,
queries, templates; production settings, DEBUG off), so a figure is the server's time
without the network. Floors, timed in the same run on the same rows:

- dashboard: the same aggregates in hand-written SQL on the raw event, clock and lead
  tables (bench/floors.py), one statement per table, summed for the page;
- list, search, detail, timeline: a bare SELECT of exactly the rows the page showed.
"""

from __future__ import annotations

import random
import re
import sys
import time

from bench.common import MANAGER, MARKETER, Figure, area_main, django_setup, median, p95, timed

RUNS = 20  # per list/detail case: p95 of 20 is the second slowest
DASHBOARD_RUNS = 5
LIST_TARGET_MS = 100
DASHBOARD_TARGET_MS = 300
LEAD_LINK = re.compile(rb'href="/leads/(\d+)/"')


def _client(username: str):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _get(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:300]!r}")
    return response


def _page_ids(response) -> list[int]:
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        rows = body["results"] if isinstance(body, dict) else body
        return [row["id"] for row in rows]
    return list(dict.fromkeys(int(n) for n in LEAD_LINK.findall(response.content)))


def _bare_select(ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM leads_lead WHERE id = ANY(%s)", [ids])
        cursor.fetchall()


def _bare_timeline(lead_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM leads_leadevent WHERE lead_id = %s ORDER BY occurred_at, id", [lead_id])
        cursor.fetchall()


def _bare_detail(lead_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM leads_lead WHERE id = %s", [lead_id])
        cursor.fetchall()
        for table in ("leads_leadevent", "leads_engagement", "leads_touch", "sla_clock"):
            cursor.execute(f"SELECT * FROM {table} WHERE lead_id = %s", [lead_id])  # noqa: S608 - fixed names
            cursor.fetchall()


def _case(size, name, client, urls: list[str], floor_of) -> Figure:
    """p95 of RUNS requests cycling through `urls`, beside p95 of the floor on each page's rows."""
    pages = [(url, _page_ids(_get(client, url))) for url in urls]  # warm-up, and the rows shown
    samples, floors = [], []
    for n in range(RUNS):
        url, ids = pages[n % len(pages)]
        samples += timed(lambda url=url: _get(client, url), 1, warmup=0)
        floors += timed(lambda ids=ids: floor_of(ids), 1, warmup=0)
    value = p95(samples)
    rows = sum(len(ids) for _, ids in pages) // len(pages)
    return Figure(
        "lead list" if "/leads/?" in urls[0] or urls[0].endswith("/leads/") else "lead page",
        name,
        round(value, 1),
        "ms p95",
        round(p95(floors), 1),
        f"p95 < {LIST_TARGET_MS} ms",
        value < LIST_TARGET_MS,
        size,
        f"{RUNS} requests over {len(urls)} URL(s), e.g. {urls[0]}; median {median(samples):.1f} ms; "
        f"~{rows} rows a page; floor: SELECT of those rows by id",
    )


def list_figures(size: int) -> list[Figure]:
    from leads.models import Lead

    rng = random.Random(size)
    client = _client(MARKETER)
    newest = Lead.objects.order_by("-id").values_list("id", flat=True)[:1000]
    sample = Lead.objects.filter(pk__in=rng.sample(list(newest), 50))
    leads = list(sample.values("id", "last_name", "email", "company", "owner_id"))
    rep = next(lead["owner_id"] for lead in Lead.objects.filter(owner__isnull=False).values("owner_id")[:1])
    bare = _bare_select
    figures = [
        _case(size, "list, newest first", client, ["/leads/"], bare),
        _case(size, "filter: stage SQL", client, ["/leads/?stage=sql"], bare),
        _case(size, "filter: source + stage", client, ["/leads/?source=event&stage=mql"], bare),
        _case(size, "filter: a rep's leads", client, [f"/leads/?owner={rep}"], bare),
        _case(size, "filter: score band hot", client, ["/leads/?score_band=hot"], bare),
        _case(size, "sort by score", client, ["/leads/?sort=score"], bare),
        _case(size, "API list, page 1", client, ["/api/leads/"], bare),
        _case(
            size, "search by name", client, [f"/leads/?q={lead['last_name']}" for lead in leads[:10]], bare
        ),
        _case(size, "search by email", client, [f"/leads/?q={lead['email']}" for lead in leads[:10]], bare),
        _case(
            size,
            "search by company",
            client,
            [f"/leads/?q={lead['company'].split()[0]}" for lead in leads[10:20]]
            + [f"/leads/?q={'+'.join(lead['company'].split()[:2])}" for lead in leads[20:30]],
            bare,
        ),
    ]
    return figures


def detail_figures(size: int) -> list[Figure]:
    from leads.models import Lead, Stage

    rng = random.Random(size + 1)
    client = _client(MANAGER)
    ids = []
    for stage in (Stage.CUSTOMER, Stage.SQL, Stage.MQL, Stage.LEAD):
        pool = list(Lead.objects.filter(stage=stage).order_by("-id").values_list("id", flat=True)[:2000])
        ids += rng.sample(pool, min(5, len(pool)))
    detail = _case(size, "lead page with timeline", client, [f"/leads/{n}/" for n in ids], lambda _: None)
    # The floor of a lead page: the lead's row and everything it shows, by bare SELECTs.
    floors = [t for n in ids for t in timed(lambda n=n: _bare_detail(n), 1, warmup=0)]
    detail.floor, detail.detail = (
        round(p95(floors), 1),
        detail.detail.split("; floor")[0]
        + ("; floor: SELECT of the lead, its events, engagements, touches and clocks"),
    )
    timeline = _case(size, "timeline (API)", client, [f"/api/leads/{n}/events/" for n in ids], lambda _: None)
    floors = [t for n in ids for t in timed(lambda n=n: _bare_timeline(n), 1, warmup=0)]
    timeline.floor = round(p95(floors), 1)
    timeline.detail = timeline.detail.split("; floor")[0] + "; floor: SELECT of the lead's events"
    timeline.area = detail.area = "lead page"
    return [detail, timeline]


def dashboard_figures(size: int) -> list[Figure]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench import floors
    from reports import dashboard
    from reports.forms import DashboardForm
    from reports.views import all_tables

    client = _client(MANAGER)
    page = timed(lambda: _get(client, "/reports/"), DASHBOARD_RUNS)
    form = DashboardForm({})
    form.is_valid()
    scope = form.scope()
    figures = []
    floor_total = 0.0
    table_total = 0.0
    for slug in [*dashboard.TABLES, "late-data"]:
        with CaptureQueriesContext(connection) as queries:
            all_tables(scope, {slug})
        spent = median(timed(lambda slug=slug: all_tables(scope, {slug}), 3))
        floor = floors.table_floor(slug, scope)
        table_total += spent
        floor_total += floor or 0
        figures.append(
            Figure(
                "dashboard",
                f"table {slug}",
                round(spent, 1),
                "ms",
                None if floor is None else round(floor, 1),
                "",
                None,
                size,
                f"{len(queries)} queries; median of 3",
            )
        )
    whole = median(page)
    figures.insert(
        0,
        Figure(
            "dashboard",
            "whole page (server time)",
            round(whole, 1),
            "ms",
            round(floor_total, 1),
            f"< {DASHBOARD_TARGET_MS} ms and ≤ 2× floor",
            whole < DASHBOARD_TARGET_MS and whole <= 2 * floor_total,
            size,
            f"median of {DASHBOARD_RUNS} GET /reports/ as the manager ({scope.first}..{scope.last}, "
            f"p95 {p95(page):.0f} ms); tables alone {table_total:.0f} ms; floor: the same aggregates "
            "in hand-written SQL on the raw tables, summed",
        ),
    )
    return figures


def measure(size: int, database_url: str) -> list[Figure]:
    django_setup(database_url)
    from reports import rollups

    started = time.perf_counter()
    # Leads changed by an earlier area (the SLA benchmark's clocks, say) are refreshed in
    # the rollup first, as the beat job would have done by the time a manager looks.
    caught_up = rollups.catch_up() if rollups.supported() else 0
    print(
        f"  rollup refreshed for {caught_up or 0:,} changed leads in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    figures = []
    for part in (dashboard_figures, list_figures, detail_figures):
        figures += part(size)
        print(f"  {part.__name__}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return figures


if __name__ == "__main__":
    sys.exit(area_main(measure, __doc__))
