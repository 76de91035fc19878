#!/usr/bin/env python3
"""Benchmark: import a large CSV and report speed and memory.

    .venv/bin/python scripts/bench_import.py --rows 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_bench .venv/bin/python scripts/bench_import.py

Uses a throw-away SQLite database unless DATABASE_URL is set (that database is migrated
and filled: point it at an empty one). Prints rows per second, the peak resident memory of
the process, and its resident memory after the first and the last chunk — the import
does not hold rows, so that stays flat whatever the file size.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(
            "First Name,Last Name,Email,Company Name,Job Title,Number of Employees,Country/Region,Original Source\n"
        )
        for i in range(rows):
            email = f"bench{i}@example{i % 97}.org" if i % 250 else f"broken{i}"
            out.write(f"Pat,Number{i},{email},Company {i % 5000},Head of Ops,{20 + i % 900},DE,Paid Search\n")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="smk-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.setdefault("SMARKETING_VAR_DIR", str(work))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings.base")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from leads import imports
    from leads.models import Lead
    from leads.roles import Role

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-marketer")
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=Role.MARKETER))
    csv_path = work / "bench.csv"
    started = time.perf_counter()
    write_csv(csv_path, args.rows)
    print(
        f"wrote {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
    )

    with csv_path.open("rb") as handle:
        job = imports.import_upload(actor=user, uploaded=handle, file_name="bench.csv")
    # Queue it without a worker: this process runs it below, measured.
    from leads.models import ImportJob, ImportStatus

    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)

    heap: list[int] = []
    real_chunk = imports._run_chunk

    def measured(*a, **kw):
        result = real_chunk(*a, **kw)
        heap.append(current_rss_mb())
        return result

    imports._run_chunk = measured
    started = time.perf_counter()
    job = imports.import_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database: {django.db.connection.vendor}")
    print(
        f"status {job.status}: {job.created_count:,} created, {job.failed_count:,} failed, {job.rows_done:,} rows"
    )
    print(f"time: {elapsed:.1f} s = {job.rows_done / elapsed:,.0f} rows/s")
    print(f"resident memory: {heap[0]:.0f} MB after the first chunk, {heap[-1]:.0f} MB after the last")
    print(f"process peak RSS: {rss_mb:.0f} MB")
    assert Lead.objects.count() == job.created_count
    return 0


if __name__ == "__main__":
    sys.exit(main())
