"""Import: a 100,000-row HubSpot-style CSV through the real import path.

The file is uploaded with `smarketing.intake.imports.import_upload` as bench.marketer, started with
`import_start`, and run in this process by the body of the Celery task
(`smarketing.intake.tasks.import_run`) — the code a user's upload and the worker run. About 1% of the
rows are invalid, 0.5% repeat an email from earlier in the file and 2% carry the email of
a lead already in the database (filled where blank, or skipped).

Figures: rows per second (floor: PostgreSQL COPY of the same file into a temporary table,
same run), the process's peak resident memory, and its resident memory after the first
and after the last chunk (flat: rows stream, nothing grows with the file). Afterwards
everything the import added is removed and the leads it filled are put back, so the
database again holds exactly `size` leads for the areas that follow.

    .venv/bin/python -m bench.importing --database-url URL --size N --json out.json
"""

from __future__ import annotations

import random
import resource
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

from bench.common import MARKETER, PASSWORD, Figure, area_main, django_setup

ROWS = 100_000
TARGET_ROWS_PER_S = 10_000
TARGET_PEAK_MB = 300
FLAT_MB = 20  # growth from the first chunk to the last that still counts as flat

HEADERS = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Company Name",
    "Job Title",
    "Number of Employees",
    "Country/Region",
    "Website URL",
    "Original Source",
    "Lifecycle Stage",
    "Create Date",
]
FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Katarzyna",
    "Liam",
]
LAST = ["Müller", "Schmidt", "Okafor", "García", "Rossi", "Nguyen", "Kowalski", "Smith", "Dubois", "Jensen"]
TITLES = [
    "VP Sales",
    "Head of Marketing",
    "CTO",
    "Marketing Manager",
    "Analyst",
    "Director of IT",
    "Buyer",
    "",
]
SIZES = ["1-10", "11-50", "51-200", "201-500", "1,000", "5000", "10,000+", ""]
COUNTRIES = ["Germany", "DE", "United States", "France", "GB", "Netherlands", "AT", "Switzerland", ""]
SOURCES = [
    "Organic Search",
    "Paid Search",
    "Direct Traffic",
    "Referrals",
    "Email Marketing",
    "Offline Sources",
    "",
]
STAGES = ["lead", "subscriber", "Lead", "", "other"]
DOMAINS = ["gmail.com", "acme-{n}.io", "corp{n}.example", "mail{n}.example.org"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log(message: str) -> None:
    print(f"[import] {message}", file=sys.stderr, flush=True)


def write_csv(path: Path, rows: int, existing: list[str]) -> None:
    """A deterministic HubSpot contacts export; see the module docstring for its mix."""
    rnd = random.Random(8)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(f'"{h}"' for h in HEADERS) + "\n")
        for i in range(rows):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            domain = rnd.choice(DOMAINS).format(n=i % 3000)
            local = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode().lower()
            email = f"{local}.csv{i}@{domain}"
            phone = f"+49 30 {1000000 + i}" if i % 3 else ""
            size, country, stage = rnd.choice(SIZES), rnd.choice(COUNTRIES), rnd.choice(STAGES)
            created = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}"
            if existing and i % 50 == 7:  # a lead already in Smarketing
                email = existing[(i // 50) % len(existing)].upper()
            elif i % 200 == 113:  # the same person earlier in the file (same or earlier chunk)
                email = f"x.csv{i - 100 if i % 400 == 113 else i - 300}@dup.example"
            elif i % 200 == 13:
                email = f"x.csv{i}@dup.example"
            if i % 250 == 0:
                email = f"broken{i}"
            elif i % 333 == 1:
                country = "Atlantis"
            elif i % 499 == 2:
                stage = "customer"
            elif i % 997 == 3:
                created = "2099-01-01"
            cells = [
                str(700000 + i),
                first,
                last,
                email,
                phone,
                f'"Company {i % 5000}, Ltd"' if i % 7 == 0 else f"Company {i % 5000}",
                rnd.choice(TITLES),
                f'"{size}"' if "," in size else size,
                country,
                f"www.company{i % 5000}.example" if i % 4 else "",
                rnd.choice(SOURCES),
                stage,
                created,
            ]
            out.write(",".join(cells) + "\n")


def copy_floor(path: Path, columns: int = len(HEADERS)) -> float:
    """Rows per second of PostgreSQL COPY of the file (`columns` wide) into a temporary
    table (best of 2)."""
    from django.db import connection, transaction

    columns = ", ".join(f"c{n} text" for n in range(columns))
    best = float("inf")
    rows = 0
    for _ in range(2):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE bench_import_copy ({columns}) ON COMMIT DROP")
            started = time.perf_counter()
            with path.open("r", encoding="utf-8") as fh:
                cursor.cursor.copy_expert(
                    "COPY bench_import_copy FROM STDIN WITH (FORMAT csv, HEADER true)", fh
                )
            best = min(best, time.perf_counter() - started)
            cursor.execute("SELECT count(*) FROM bench_import_copy")
            rows = cursor.fetchone()[0]
    return rows / best


def marketer():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from smarketing.org.roles import Role

    user, created = get_user_model().objects.get_or_create(username=MARKETER)
    if created:
        user.set_password(PASSWORD)
        user.save()
    user.groups.add(Group.objects.get(name=Role.MARKETER))
    return user


def lead_children():
    """(model, lead column) of every table that points at a lead."""
    from leads.models import Lead

    return [
        (rel.related_model, rel.field.column)
        for rel in Lead._meta.related_objects
        if rel.related_model is not Lead and not rel.many_to_many
    ]


def max_ids(models) -> dict:
    from django.db.models import Max

    return {model: model.objects.aggregate(m=Max("id"))["m"] or 0 for model in models}


def clean_up(job_id: int, before: dict, snapshot: list[dict]) -> None:
    """Remove what the import added; put back the profiles of the leads it filled."""
    from django.db import connection, transaction

    from leads.models import Lead, LeadEvent
    from smarketing.intake.models import ImportJob
    from smarketing.notifications.models import Notification

    # Rows pointing at events before the events, events before leads.
    order = sorted(before, key=lambda m: (m is Lead, m is LeadEvent, m is not Notification))
    with transaction.atomic(), connection.cursor() as cursor:
        ImportJob.objects.filter(pk=job_id).delete()  # its rows go with it
        for model in order:
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id > %s", [before[model]])
            log(f"removed {cursor.rowcount:,} rows from {model._meta.db_table}")
        for values in snapshot:
            Lead.objects.filter(pk=values.pop("id")).update(**values)
    with connection.cursor() as cursor:
        for model in order:
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def measure(size: int, database_url: str) -> list[Figure]:
    django_setup(database_url)
    from django.core.files import File
    from django.db import connection

    from leads.models import Lead, LeadEvent
    from smarketing.intake import imports, tasks
    from smarketing.intake import run as intake_run
    from smarketing.intake.models import ImportJob, ImportStatus

    user = marketer()
    work = Path(tempfile.mkdtemp(prefix="smk-bench-import-"))
    csv_path = work / "hubspot-contacts.csv"
    existing = list(
        Lead.objects.filter(merged_into__isnull=True)
        .order_by("id")
        .values_list("email", flat=True)[: ROWS // 50]
    )
    started = time.perf_counter()
    write_csv(csv_path, ROWS, existing)
    log(
        f"wrote {ROWS:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
    )

    floor = copy_floor(csv_path)
    log(f"floor: COPY into a temporary table at {floor:,.0f} rows/s")

    snapshot = list(Lead.objects.filter(email__in=existing).values())
    before = max_ids([Lead, *(model for model, _ in lead_children())])

    after_chunk: list[tuple[int, float]] = []
    real_chunk = intake_run._run_chunk

    def measured(job_id, chunk, *args, **kwargs):
        result = real_chunk(job_id, chunk, *args, **kwargs)
        after_chunk.append((chunk[-1][0], rss_mb()))
        if len(after_chunk) % 20 == 0:
            log(
                f"row {chunk[-1][0]:,}: {time.perf_counter() - started:.1f} s, RSS {after_chunk[-1][1]:.0f} MB"
            )
        return result

    intake_run._run_chunk = measured
    real_enqueue = imports.on_commit_enqueue
    imports.on_commit_enqueue = lambda task, *args: None  # this process is the worker
    try:
        started = time.perf_counter()
        with csv_path.open("rb") as handle:
            job = imports.import_upload(actor=user, uploaded=File(handle, name=csv_path.name))
        imports.import_start(actor=user, job_id=job.pk)
        tasks.import_run(job.pk)
        elapsed = time.perf_counter() - started
    finally:
        intake_run._run_chunk = real_chunk
        imports.on_commit_enqueue = real_enqueue
    job = ImportJob.objects.get(pk=job.pk)
    peak = peak_mb()
    rate = job.rows_done / elapsed
    log(
        f"status {job.status}: {job.created_count:,} created, {job.updated_count:,} updated, "
        f"{job.skipped_count:,} skipped, {job.failed_count:,} failed in {elapsed:.1f} s = {rate:,.0f} rows/s"
    )
    assert job.status == ImportStatus.DONE, job.error
    assert job.rows_done == ROWS, job.rows_done
    first_rss, last_rss = after_chunk[0][1], after_chunk[-1][1]
    growth = last_rss - first_rss

    clean_up(job.pk, before, snapshot)
    left = Lead.objects.count()
    log(f"cleaned up: {left:,} leads in the database")
    assert not LeadEvent.objects.filter(id__gt=before[LeadEvent]).exists()
    connection.close()
    csv_path.unlink(missing_ok=True)
    work.rmdir()

    counts = (
        f"{job.created_count:,} created, {job.updated_count:,} updated, "
        f"{job.skipped_count:,} skipped, {job.failed_count:,} failed"
    )
    return [
        Figure(
            area="import",
            name="100,000-row CSV",
            value=rate,
            unit="rows/s",
            floor=floor,
            target=f"≥ {TARGET_ROWS_PER_S:,} rows/s",
            met=rate >= TARGET_ROWS_PER_S,
            size=size,
            detail=f"upload + run of the worker's task in {elapsed:.1f} s ({counts}); "
            "floor: PostgreSQL COPY of the same file into a temporary table",
        ),
        Figure(
            area="import",
            name="peak memory",
            value=peak,
            unit="MB",
            floor=None,
            target=f"< {TARGET_PEAK_MB} MB, flat with file size",
            met=peak < TARGET_PEAK_MB and growth < FLAT_MB,
            size=size,
            detail="peak resident memory (ru_maxrss) of the benchmark process",
        ),
        Figure(
            area="import",
            name="memory growth, first to last chunk",
            value=growth,
            unit="MB",
            floor=None,
            target=f"< {FLAT_MB} MB (flat with file size)",
            met=growth < FLAT_MB,
            size=size,
            detail=f"resident memory {first_rss:.0f} MB after the first chunk, "
            f"{last_rss:.0f} MB after the last ({len(after_chunk)} chunks)",
        ),
    ]


if __name__ == "__main__":
    sys.exit(area_main(measure, __doc__))
