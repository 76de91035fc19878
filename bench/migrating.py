"""Migration import: a 100,000-row HubSpot contacts export with history, through the real path.

The file is uploaded with `smarketing.intake.imports.import_upload(kind="migration")` as
bench.manager, started with `import_start`, and run in this process by the body of the
Celery task (`smarketing.intake.tasks.import_run`) — the code a manager's upload and the
worker run (docs/migration.md). The mix, deterministic: about half the rows still with
marketing, a fifth MQLs, SQLs, customers with amounts and lost deals with reasons, a few
disqualified, owners by name and by email among bench.rep1..12; about 1% of the rows are
refused (dates out of order, an owner nobody matches, a bad email).

Figures: rows per second (floor: PostgreSQL COPY of the same file into a temporary table,
same run; target ≥ 0.75% of it), peak resident memory and its growth from the first chunk
to the last (flat). Afterwards everything the migration added is removed, so the database
again holds exactly `size` leads for the areas that follow.

    .venv/bin/python -m bench.migrating --database-url URL --size N --json out.json
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.common import MANAGER, REPS, Figure, area_main, django_setup
from bench.importing import (
    FLAT_MB,
    TARGET_PEAK_MB,
    clean_up,
    copy_floor,
    lead_children,
    log,
    max_ids,
    peak_mb,
    rss_mb,
)

ROWS = 100_000
TARGET_SHARE_OF_COPY = 0.0075  # ≥ 0.75% of the COPY floor (issue 27)
HEADERS = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Company Name",
    "Job Title",
    "Lifecycle Stage",
    "Lead Status",
    "Contact owner",
    "Create Date",
    "Became a Marketing Qualified Lead Date",
    "Became a Sales Qualified Lead Date",
    "Became a Customer Date",
    "Original Source",
    "Original Source Drill-Down 1",
    "Amount",
    "Close Date",
    "Closed Lost Reason",
]
SOURCES = [
    "Organic Search",
    "Paid Search",
    "Direct Traffic",
    "Referrals",
    "Email Marketing",
    "Offline Sources",
]
LOSSES = ["Price", "Chose a competitor", "No decision / went dark", "Not a fit after discovery"]


def write_csv(path: Path, rows: int) -> None:
    """A deterministic HubSpot export with history; see the module docstring for its mix."""
    rnd = random.Random(27)
    start = dt.datetime(2026, 1, 5, 9, 0)
    owners = [*(f"Rep Number {n}" for n in range(1, len(REPS) + 1)), *(f"{r}@bench.example" for r in REPS)]

    def when(days: float) -> str:
        return (start + dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M")

    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADERS) + "\n")
        for i in range(rows):
            created = rnd.uniform(0, 300)
            mql, sql, won = created + rnd.uniform(0, 10), 0.0, 0.0
            sql = mql + rnd.uniform(0, 5)
            won = sql + rnd.uniform(5, 40)
            pick = rnd.random()
            stage, status, owner, amount, close, loss = "Lead", "", "", "", "", ""
            dates = {"mql": "", "sql": "", "customer": ""}
            if pick < 0.5:
                stage = rnd.choice(["Lead", "Subscriber", "Other"])
            elif pick < 0.7:
                stage, dates["mql"] = "Marketing Qualified Lead", when(mql)
            elif pick < 0.8:
                stage, dates["mql"], dates["sql"] = "Sales Qualified Lead", when(mql), when(sql)
            elif pick < 0.9:
                stage, dates["mql"], dates["sql"], dates["customer"] = (
                    "Customer",
                    when(mql),
                    when(sql),
                    when(won),
                )
                amount = f"{rnd.randint(1, 200) * 500}"
            elif pick < 0.97:
                stage, dates["mql"], dates["sql"] = "Opportunity", when(mql), when(sql)
                close, loss = when(won)[:10], rnd.choice(LOSSES)
            else:
                stage, status = "Lead", "Unqualified"
            if stage != "Lead" and stage not in ("Subscriber", "Other"):
                owner = rnd.choice(owners)
            email = f"migrated{i}@corp{i % 4000}.example"
            if i % 300 == 7:
                email = f"broken{i}"
            elif i % 300 == 11 and dates["sql"]:
                dates["sql"] = when(created - 1)  # before its hand-off
            elif i % 300 == 13 and owner:
                owner = "Somebody Who Left"
            cells = [
                str(900000 + i),
                rnd.choice(["Anna", "Ben", "Chloé", "Farid", "Greta", "Hiro"]),
                rnd.choice(["Müller", "Okafor", "García", "Rossi", "Nguyen"]),
                email,
                f"Company {i % 5000}",
                rnd.choice(["VP Sales", "CTO", "Buyer", "Head of Marketing"]),
                stage,
                status,
                owner,
                when(created),
                dates["mql"],
                dates["sql"],
                dates["customer"],
                rnd.choice(SOURCES),
                rnd.choice(["google", "linkedin.com", ""]),
                amount,
                close,
                loss,
            ]
            out.write(",".join(cells) + "\n")


def manager():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=MANAGER)


def measure(size: int, database_url: str) -> list[Figure]:
    django_setup(database_url)
    from django.core.files import File
    from django.db import connection

    from leads.models import Lead, LeadEvent
    from sla.models import Clock
    from smarketing.intake import imports, tasks
    from smarketing.intake import run as intake_run
    from smarketing.intake.models import ImportJob, ImportStatus

    user = manager()
    work = Path(tempfile.mkdtemp(prefix="smk-bench-migrate-"))
    csv_path = work / "hubspot-history.csv"
    started = time.perf_counter()
    write_csv(csv_path, ROWS)
    log(
        f"wrote {ROWS:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
    )
    floor = copy_floor(csv_path, columns=len(HEADERS))
    log(f"floor: COPY into a temporary table at {floor:,.0f} rows/s")
    before = max_ids([Lead, Clock, *(model for model, _ in lead_children())])

    after_chunk: list[float] = []
    real_chunk = intake_run._run_chunk

    def measured(job_id, chunk, *args, **kwargs):
        result = real_chunk(job_id, chunk, *args, **kwargs)
        after_chunk.append(rss_mb())
        return result

    intake_run._run_chunk = measured
    real_enqueue = imports.on_commit_enqueue
    imports.on_commit_enqueue = lambda task, *args: None  # this process is the worker
    try:
        started = time.perf_counter()
        with csv_path.open("rb") as handle:
            job = imports.import_upload(
                actor=user, uploaded=File(handle, name=csv_path.name), kind="migration"
            )
        imports.import_start(actor=user, job_id=job.pk)
        tasks.import_run(job.pk)
        elapsed = time.perf_counter() - started
    finally:
        intake_run._run_chunk = real_chunk
        imports.on_commit_enqueue = real_enqueue
    job = ImportJob.objects.get(pk=job.pk)
    peak = peak_mb()
    rate = job.rows_done / elapsed
    events = LeadEvent.objects.filter(id__gt=before[LeadEvent]).count()
    clocks = Clock.objects.filter(id__gt=before[Clock]).count()
    log(
        f"status {job.status}: {job.created_count:,} created with {events:,} events and {clocks:,} clocks, "
        f"{job.failed_count:,} failed in {elapsed:.1f} s = {rate:,.0f} rows/s"
    )
    assert job.status == ImportStatus.DONE, job.error
    assert job.rows_done == ROWS, job.rows_done
    growth = after_chunk[-1] - after_chunk[0]
    clean_up(job.pk, before, [])
    log(f"cleaned up: {Lead.objects.count():,} leads in the database")
    connection.close()
    csv_path.unlink(missing_ok=True)
    work.rmdir()
    target = floor * TARGET_SHARE_OF_COPY
    return [
        Figure(
            area="migrating",
            name="100,000-row HubSpot export with history",
            value=rate,
            unit="rows/s",
            floor=floor,
            target=f"≥ {TARGET_SHARE_OF_COPY:.2%} of the COPY floor ({target:,.0f} rows/s)",
            met=rate >= target,
            size=size,
            detail=f"upload + run in {elapsed:.1f} s: {job.created_count:,} leads with {events:,} back-dated "
            f"events and {clocks:,} clocks from go-live, {job.failed_count:,} rows refused; floor: PostgreSQL "
            "COPY of the same file into a temporary table",
        ),
        Figure(
            area="migrating",
            name="peak memory",
            value=peak,
            unit="MB",
            floor=None,
            target=f"< {TARGET_PEAK_MB} MB, flat with file size",
            met=peak < TARGET_PEAK_MB and growth < FLAT_MB,
            size=size,
            detail=f"peak resident memory; {growth:+.0f} MB from the first chunk to the last "
            f"({len(after_chunk)} chunks)",
        ),
    ]


if __name__ == "__main__":
    sys.exit(area_main(measure, __doc__))
