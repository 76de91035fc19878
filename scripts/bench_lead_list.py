#!/usr/bin/env python3
"""Benchmark: the lead list (page and API) over a large table.

    createdb -h 127.0.0.1 -U postgres smk_bench_list
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_bench_list \
        .venv/bin/python scripts/bench_lead_list.py --leads 1000000

Without DATABASE_URL it uses a throw-away SQLite file (fine up to ~200k leads). The
database is migrated and filled with synthetic leads and engagements by SQL (the funnel
services are not the point here), then each list request is timed as a logged-in
marketer: the first page, a page reached by the cursor near the end of the table,
filters, sorts and searches. Prints the median of several runs and the query count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_LEADS = """
INSERT INTO leads_lead (first_name, last_name, email, phone, company, job_title, company_size, country,
  website, source, stage, stage_entered_at, score, score_receipt, scored_version, recycle_count, version,
  created_at, updated_at)
SELECT 'Pat', 'Number' || g, 'bench' || g || '@example' || (g % 97) || '.org', '', 'Company ' || (g % 5000),
  'Analyst', 20 + g % 900, 'DE', '', (ARRAY['paid_search','website','event','webinar'])[1 + g % 4],
  (ARRAY['lead','lead','lead','mql','sql','customer','disqualified'])[1 + g % 7],
  now() - (g || ' seconds')::interval, g % 100, '[]', 1, (g % 11 = 0)::int, 1,
  now() - (g || ' seconds')::interval, now()
FROM generate_series(1, __N__) AS g
"""
PG_ENGAGEMENTS = """
INSERT INTO leads_engagement (lead_id, type, occurred_at, title, url, points, origin, external_id, created_at)
SELECT id, 'webinar_attended', created_at, 'Webinar ' || (id % 50), '', 20, 'bench', '', now()
FROM leads_lead WHERE id % 10 = 0
"""
SQLITE_LEADS = """
WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < __N__)
INSERT INTO leads_lead (first_name, last_name, email, phone, company, job_title, company_size, country,
  website, source, stage, stage_entered_at, score, score_receipt, scored_version, recycle_count, version,
  created_at, updated_at)
SELECT 'Pat', 'Number' || g, 'bench' || g || '@example' || (g % 97) || '.org', '', 'Company ' || (g % 5000),
  'Analyst', 20 + g % 900, 'DE', '',
  CASE g % 4 WHEN 0 THEN 'paid_search' WHEN 1 THEN 'website' WHEN 2 THEN 'event' ELSE 'webinar' END,
  CASE g % 7 WHEN 3 THEN 'mql' WHEN 4 THEN 'sql' WHEN 5 THEN 'customer' WHEN 6 THEN 'disqualified' ELSE 'lead' END,
  datetime('now', '-' || g || ' seconds'), g % 100, '[]', 1, (g % 11 = 0), 1,
  datetime('now', '-' || g || ' seconds'), datetime('now')
FROM s
"""
SQLITE_ENGAGEMENTS = PG_ENGAGEMENTS.replace("now()", "datetime('now')")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="smk-bench-list-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.setdefault("SMARKETING_VAR_DIR", str(work))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings.test")  # no manifest needed
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from leads.models import Lead
    from leads.roles import Role

    call_command("migrate", verbosity=0)
    if Lead.objects.exists():
        print(f"using the {Lead.objects.count():,} leads already in the database")
    else:
        started = time.perf_counter()
        pg = connection.vendor == "postgresql"
        with connection.cursor() as cursor:
            cursor.execute((PG_LEADS if pg else SQLITE_LEADS).replace("__N__", str(int(args.leads))))
            cursor.execute(PG_ENGAGEMENTS if pg else SQLITE_ENGAGEMENTS)
            cursor.execute("ANALYZE")
        print(f"inserted {args.leads:,} leads in {time.perf_counter() - started:.0f} s ({connection.vendor})")

    user, _ = get_user_model().objects.get_or_create(username="bench-marketer")
    user.groups.add(Group.objects.get(name=Role.MARKETER))
    client = Client()
    client.force_login(user)
    last = Lead.objects.order_by("created_at", "id").only("id").first()
    from leads.paging import _encode

    near_end = Lead.objects.order_by("created_at", "id")[50:51].get()
    cases = [
        ("page 1, newest", "/leads/"),
        ("a page near the end (cursor)", f"/leads/?after={_encode(near_end.created_at, near_end.pk)}"),
        ("stage=mql, newest", "/leads/?stage=mql"),
        ("sort by score", "/leads/?sort=score"),
        ("score band hot + source event", "/leads/?score_band=hot&source=event"),
        ("search an email", f"/leads/?q=bench{last.pk}@"),
        ("search an event title", "/leads/?q=Webinar+42"),
        ("API page 1", "/api/leads/"),
        ("API ordering=-score", "/api/leads/?ordering=-score"),
    ]
    print(f"{'request':38} {'median ms':>10} {'max ms':>8} {'queries':>8}")
    for label, url in cases:
        times = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{label:38} {statistics.median(times):10.0f} {max(times):8.0f} {len(queries):8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
