"""API throughput under gunicorn: lead create and lead list beside the floor.

    .venv/bin/python -m bench.api --database-url postgres://postgres@127.0.0.1:5432/smarketing_bench \
        --size 1000000 --json var/bench-api.json

Starts gunicorn on a free loopback port with the production settings and DEBUG off:
2 workers x 4 threads (the configuration of scripts/harness.py and the load test; the
threads let a worker run one request while another waits on PostgreSQL, and the same
server serves the floor, so the comparison is like for like). ROOT_URLCONF is
`bench.floor` (bench/settings.py): the project's URLs plus the floor, a bare Django view
returning a constant JSON through the same middleware.

Each endpoint is loaded in turn by locust, headless: FastHttpUser (the cheapest client,
since locust shares the two cores with the server and PostgreSQL), USERS users with no
think time, each on its own keep-alive connection, authenticated with bench.marketer's
API token, for SECONDS seconds after one short warm-up of every endpoint. The floor runs
first and last (its figure is the mean of both: the machine is shared, so the runs in
between are compared with what the floor did around them). Throughput is locust's
requests per second; p50 and p95 come from its histogram.

Creates send a realistic body with a unique email each; afterwards the leads they made
(with their events, clocks and notifications) are deleted, so the database again holds
the `size` leads it had.
"""

from __future__ import annotations

import csv
import os
import resource
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.common import BIN, MARKETER, PASSWORD, ROOT, Figure, area_main, django_setup, environment

sys.path.insert(0, str(ROOT))
from scripts.harness import Processes, free_port, token  # noqa: E402 - after the path is set

WORKERS = 2
THREADS = 4
USERS = 16  # two per gunicorn thread: every thread stays busy, connections spread over both workers
SECONDS = 15
WARMUP_SECONDS = 4
CREATE_TARGET = 0.25  # create throughput ≥ 25% of the floor's (issue 8)
EMAIL_PREFIX = "api-bench-"

LOCUSTFILE = """
import itertools
import os
import random

from locust import FastHttpUser, constant, task

TOKEN = os.environ["BENCH_TOKEN"]
WHAT = os.environ["BENCH_TASK"]
RUN = os.environ["BENCH_RUN"]
FILTERED = os.environ["BENCH_FILTERED"]
COUNTER = itertools.count(1)
FIRST = ["Anna", "Jonas", "Lea", "Lukas", "Mia", "Noah", "Emma", "Elias", "Sofia", "Paul"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"]
COMPANIES = ["Acme GmbH", "Globex AG", "Initech", "Umbrella Ltd", "Stark Industries", "Hooli"]
TITLES = ["Head of Marketing", "CTO", "VP Sales", "Procurement Manager", "IT Director"]
COUNTRIES = ["DE", "AT", "CH", "US", "GB", "FR", "NL"]
SOURCES = ["website", "event", "webinar", "paid_search", "referral", "other"]


class Bench(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.headers = {"Authorization": "Token " + TOKEN}

    @task
    def go(self):
        getattr(self, WHAT)()

    def check(self, method, path, name, expected, **kwargs):
        with self.client.request(
            method, path, headers=self.headers, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code != expected:
                response.failure(f"{response.status_code}: {(response.text or '')[:300]}")

    def floor(self):
        self.check("GET", "/bench/floor/", "floor", 200)

    def create(self):
        n = next(COUNTER)
        first, last, company = random.choice(FIRST), random.choice(LAST), random.choice(COMPANIES)
        body = {
            "email": f"{RUN}{os.getpid()}-{n}@{company.split()[0].lower()}.example.com",
            "first_name": first,
            "last_name": last,
            "phone": f"+49 30 {random.randrange(10**7, 10**8)}",
            "company": company,
            "job_title": random.choice(TITLES),
            "company_size": random.choice([12, 45, 120, 800, 2500, None]),
            "country": random.choice(COUNTRIES),
            "website": f"https://www.{company.split()[0].lower()}.example.com",
            "source": random.choice(SOURCES),
        }
        self.check("POST", "/api/leads/", "create", 201, json=body)

    def list(self):
        self.check("GET", "/api/leads/", "list", 200)

    def filtered(self):
        self.check("GET", FILTERED, "filtered", 200)

    def warmup(self):
        random.choice([self.floor, self.create, self.list, self.filtered])()
"""


def _stats(prefix: Path, name: str) -> dict:
    """locust's aggregated row for `name`: requests, failures, req/s, p50 and p95 (ms)."""
    with open(f"{prefix}_stats.csv", newline="") as stats:
        for row in csv.DictReader(stats):
            if row["Name"] == name:
                return {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": float(row["Requests/s"]),
                    "p50": float(row["50%"]),
                    "p95": float(row["95%"]),
                }
    raise RuntimeError(f"locust made no {name} request; see {prefix}_stats.csv")


def _failures(prefix: Path) -> str:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return ""
    with open(path, newline="") as failures:
        return "; ".join(
            f"{r['Occurrences']}x {r['Name']}: {r['Error'][:200]}" for r in csv.DictReader(failures)
        )


TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pids: set[int]) -> dict[int, float]:
    """CPU seconds (user + system) each live process of `pids` has used so far (Linux /proc)."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return used


def _since(before: dict[int, float], pids: set[int]) -> float:
    """CPU seconds used by `pids` since `before` (a process that ended since is not counted;
    one that started since is counted whole)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in _cpu(pids).items())


def _children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _postgres_pids() -> set[int]:
    """The PostgreSQL backends serving this database (gunicorn's connections), not ours."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = %s",
            ["client backend"],
        )
        return {pid for (pid,) in cursor.fetchall()}


def _locust(
    processes: Processes, folder: Path, env: dict, host: str, what: str, seconds: int, server: int
) -> dict | None:
    prefix = folder / what
    servers = {server, *_children(server)}
    before = _cpu(servers), _cpu(_postgres_pids()), resource.getrusage(resource.RUSAGE_CHILDREN)
    process = processes.start(
        [BIN / "locust", "-f", folder / "locustfile.py", "--host", host, "--headless",
         "-u", USERS, "-r", USERS, "-t", f"{seconds}s", "--stop-timeout", "5",
         "--csv", prefix, "--only-summary", "--loglevel", "WARNING"],
        {**env, "BENCH_TASK": what},
        folder / f"locust-{what}.log",
    )  # fmt: skip
    process.wait(timeout=seconds + 60)
    if what == "warmup":
        return None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # locust, now that it was waited for
    stats = _stats(prefix, what)
    if stats["failures"]:
        raise RuntimeError(f"{what}: {stats['failures']} failed requests: {_failures(prefix)}")
    stats["cpu_ms"] = {
        name: round(1000 * seconds / stats["requests"], 2)
        for name, seconds in (
            ("gunicorn", _since(before[0], servers)),
            # the backends of gunicorn's connections (they live on between runs: CONN_MAX_AGE)
            ("postgres", _since(before[1], _postgres_pids())),
            ("locust", after.ru_utime + after.ru_stime - before[2].ru_utime - before[2].ru_stime),
        )
    }
    return stats


def _filtered_path() -> str:
    """A marketer looking for someone in a stage: the last name and stage of a lead from the
    middle of the table (so the search finds at least that lead)."""
    from urllib.parse import urlencode

    from leads.models import Lead

    ids = Lead.objects.live().order_by("id").values_list("id", flat=True)
    first, last = ids.first(), ids.last()
    lead = Lead.objects.live().filter(id__gte=(first + last) // 2).order_by("id").first()
    word = (lead.last_name or lead.company or lead.email.split("@")[0]).split()[0]
    return "/api/leads/?" + urlencode({"stage": lead.stage, "q": word})


def _delete_created(run: str) -> int:
    """Delete the leads this run created and every row that points at them (their events,
    clocks, notifications…), found from the database's foreign keys."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_api_leads ON COMMIT DROP AS "
            "SELECT id FROM leads_lead WHERE email LIKE %s",
            [f"{run}%"],
        )
        cursor.execute("SELECT count(*) FROM bench_api_leads")
        (count,) = cursor.fetchone()
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.confrelid = 'leads_lead'::regclass AND c.conrelid <> c.confrelid
            """
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                f'DELETE FROM {table} WHERE "{column}" IN (SELECT id FROM bench_api_leads)'  # noqa: S608 - names from the catalogue
            )
        cursor.execute("DELETE FROM leads_lead WHERE id IN (SELECT id FROM bench_api_leads)")
    return count


def _stop_on_sigterm() -> None:
    """A SIGTERM (bench.run giving up on this area) ends this process through `finally`, so
    that gunicorn and locust are stopped too."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def _described(stats: dict) -> str:
    cpu = ", ".join(f"{name} {ms:.1f}" for name, ms in stats["cpu_ms"].items())
    return (
        f"{stats['requests']:,} requests, p50 {stats['p50']:.0f} ms, p95 {stats['p95']:.0f} ms; "
        f"CPU ms per request: {cpu}"
    )


def measure(size: int, database_url: str) -> list[Figure]:
    _stop_on_sigterm()
    django_setup(database_url)
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="smarketing-bench-api-"))
    run = f"{EMAIL_PREFIX}{uuid.uuid4().hex[:8]}-"
    (folder / "locustfile.py").write_text(LOCUSTFILE)
    env = environment(database_url, DJANGO_SETTINGS_MODULE="bench.settings", PYTHONUNBUFFERED="1")
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    filtered_path = _filtered_path()
    results: dict[str, dict] = {}
    try:
        with Processes() as processes:
            server = processes.gunicorn(
                env, port, workers=WORKERS, threads=THREADS, log=folder / "gunicorn.log"
            ).pid
            load_env = {
                **env,
                "BENCH_TOKEN": token(host, MARKETER, PASSWORD),
                "BENCH_RUN": run,
                "BENCH_FILTERED": filtered_path,
            }

            def load(what: str, seconds: int = SECONDS) -> dict | None:
                return _locust(processes, folder, load_env, host, what, seconds, server)

            load("warmup", WARMUP_SECONDS)
            results["floor before"] = load("floor")
            for what in ("create", "list", "filtered"):
                results[what] = load(what)
            results["floor after"] = load("floor")
    finally:
        deleted = _delete_created(run)
    before, after = results["floor before"], results["floor after"]
    floor = (before["rps"] + after["rps"]) / 2
    how = (
        f"gunicorn {WORKERS} workers x {THREADS} threads, locust {USERS} users without think time, "
        f"{SECONDS} s each; floor (bare Django view, same server and middleware): "
        f"{before['rps']:,.0f} req/s before, {after['rps']:,.0f} after; {_described(before)}"
    )
    print(
        f"bench.api: {time.monotonic() - started:.0f} s, {deleted:,} created leads deleted again; "
        f"logs in {folder}",
        file=sys.stderr,
    )

    def figure(name: str, stats: dict, what: str, target: str = "", met: bool | None = None) -> Figure:
        return Figure(
            area="API",
            name=name,
            value=stats["rps"],
            unit="req/s",
            floor=floor,
            target=target,
            met=met,
            size=size,
            detail=f"{what}: {_described(stats)} ({stats['rps'] / floor:.0%} of the floor). {how}",
        )

    create = results["create"]
    return [
        figure(
            "create POST /api/leads/",
            create,
            "a new lead each (unique email, full profile)",
            f"≥ {CREATE_TARGET:.0%} of floor",
            create["rps"] >= CREATE_TARGET * floor,
        ),
        figure("list GET /api/leads/", results["list"], "first page of 50"),
        figure("list GET /api/leads/ filtered, searched", results["filtered"], filtered_path),
    ]


if __name__ == "__main__":
    sys.exit(area_main(measure, __doc__))
