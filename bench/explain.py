"""The plans of the hot queries, as PostgreSQL runs them on the benchmark's database.

    .venv/bin/python -m bench.explain --database-url postgres://postgres@127.0.0.1:5432/smarketing_bench

Each page is requested once as its user would (through the whole Django stack); its
slowest queries are then run again under EXPLAIN (ANALYZE, BUFFERS), so the plans are those
of the SQL the app really sends. The SLA run's due-rows queries are explained from the
queryset the enforcement uses. Writes the plans as text (stdout, or --out).
"""

from __future__ import annotations

import argparse
import sys

from bench.common import DATABASE, MANAGER, MARKETER, PG, django_setup

SLOWEST = 3  # queries explained per page


def _explain(cursor, sql: str, params=None) -> str:
    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
    return "\n".join(row[0] for row in cursor.fetchall())


def plans() -> list[tuple[str, str, str]]:
    """(what, SQL, plan) for the hot queries."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from leads.models import Lead
    from reports import rollups
    from sla.models import Clock

    rollups.catch_up()
    users = get_user_model().objects
    manager, marketer = Client(), Client()
    manager.force_login(users.get(username=MANAGER))
    marketer.force_login(users.get(username=MARKETER))
    lead = Lead.objects.filter(stage="customer").order_by("-id").first()
    name = Lead.objects.order_by("-id").values_list("last_name", flat=True).first()
    newest = Lead.objects.order_by("-id").values("company", "email", "owner_id").first()
    company = newest["company"].split()[0]
    two_words = "+".join(newest["company"].split()[:2])
    rep = Lead.objects.filter(owner__isnull=False).values_list("owner_id", flat=True).first()
    pages = [
        ("weekly dashboard", manager, "/reports/"),
        ("lead list, newest first", marketer, "/leads/"),
        (f"search by name ({name})", marketer, f"/leads/?q={name}"),
        (f"search by company ({company})", marketer, f"/leads/?q={company}"),
        (f"search by company, two words ({two_words})", marketer, f"/leads/?q={two_words}"),
        ("search by email", marketer, f"/leads/?q={newest['email']}"),
        ("filter: a rep's leads", marketer, f"/leads/?owner={rep}"),
        ("filter: source + stage", marketer, "/leads/?source=event&stage=mql"),
        ("lead page", manager, f"/leads/{lead.pk}/"),
        ("timeline (API)", manager, f"/api/leads/{lead.pk}/events/"),
    ]
    result = []
    with connection.cursor() as cursor:
        for what, client, url in pages:
            client.get(url)  # warm
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:SLOWEST]
            for query in slowest:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith(("SELECT", "WITH", "(SELECT")):
                    continue
                result.append((f"{what}: {url}", sql, _explain(cursor, sql)))
        now = timezone.now()
        for what, queryset in [
            ("SLA run: clocks due for a breach", Clock.objects.breach_due(now).order_by("due_at")),
            ("SLA run: clocks due for a warning", Clock.objects.warning_due(now).order_by("warn_at")),
        ]:
            sql, params = queryset.values_list("id", flat=True)[:500].query.sql_with_params()
            result.append((what, cursor.mogrify(sql, params).decode(), _explain(cursor, sql, params)))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=f"{PG}/{DATABASE}")
    parser.add_argument("--out", help="write the plans here (default: print them)")
    args = parser.parse_args()
    django_setup(args.database_url)
    text = []
    for what, sql, plan in plans():
        text.append(f"### {what}\n\n```sql\n{sql}\n```\n\n```\n{plan}\n```\n")
    output = "\n".join(text)
    if args.out:
        with open(args.out, "w") as out:
            out.write(output)
    else:
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
