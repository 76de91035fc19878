#!/usr/bin/env python3
"""Load test: locust against gunicorn + PostgreSQL + the Celery worker, on loopback.

    python3 scripts/load.py                          # 50 users for 60 s, 3,000 demo leads
    python3 scripts/load.py --users 20 --seconds 20  # the short CI variant
    python3 scripts/load.py --json var/load.json     # also write the results as JSON

One command: creates a fresh PostgreSQL database (dropped first), migrates, collects the
static files, seeds the demo organisation and ANALYZEs it, starts gunicorn (2 workers x 4
threads, DEBUG off, keep-alive 75 s) and a Celery worker with beat (Redis broker, SLA
enforcement every 15 s), runs scripts/load/locustfile.py headless, stops everything again
(also on error or Ctrl-C), prints a table per request (requests, failures, p50, p95, max)
with totals and where the CPU went, and exits 1 when any request failed, the server
answered 5xx, or the worker logged an error. See scripts/load/README.md.

Needs ./.venv (python3 scripts/dev.py test makes it), PostgreSQL and Redis. Logs of every
process are kept in the run folder printed at the start.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402 - the scripts' shared helpers (HTTP, multipart, tokens)

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"
LOCUSTFILE = ROOT / "scripts" / "load" / "locustfile.py"
DB_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--seconds", type=int, default=60, help="how long the load runs (default 60)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second (default 10)")
    parser.add_argument("--leads", type=int, default=3000, help="demo leads to seed (default 3000)")
    parser.add_argument("--weeks", type=int, default=12, help="weeks of demo history (default 12)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--import-rows",
        type=int,
        default=5000,
        help="rows of the CSV a marketer imports mid-run (default 5000)",
    )
    parser.add_argument("--database", default="smarketing_load", help="database to (re)create")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LOAD_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL without a database (default: $LOAD_POSTGRES_URL or local)",
    )
    parser.add_argument(
        "--broker",
        default=os.environ.get("LOAD_BROKER_URL", "redis://127.0.0.1:6379/14"),
        help="Celery broker; this Redis database is flushed first (default redis://127.0.0.1:6379/14)",
    )
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=75,
        help="gunicorn's keep-alive seconds (default 75, above the users' think time; gunicorn's "
        "own default of 2 races with clients reusing idle connections: resets under load)",
    )
    parser.add_argument(
        "--login-each",
        action="store_true",
        help="every locust user logs in with the form (default: once per demo login, sessions shared)",
    )
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="skip ANALYZE after seeding (to see the plans of a database without statistics)",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the database afterwards (to look into it)"
    )
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="skip create/migrate/seed: use the database a --keep-db run left",
    )
    args = parser.parse_args()
    if not DB_NAME.match(args.database):
        parser.error("--database: lower-case letters, digits and underscores only")
    if args.users < 1 or args.seconds < 1:
        parser.error("--users and --seconds must be positive")
    return args


# --- processes ------------------------------------------------------------------------------------


class Processes:
    """The processes this run started, each in a session of its own: stopped by their ids."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[tuple[str, subprocess.Popen, int]] = []

    def start(self, name: str, argv: list, env: dict, stop_signal: int = signal.SIGTERM) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [str(a) for a in argv],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.running.append((name, process, stop_signal))
        return process

    def stop_all(self) -> None:
        for name, process, stop_signal in reversed(self.running):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, stop_signal)
                except ProcessLookupError:
                    continue
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    print(f"   {name} did not stop within 30 s: killed", flush=True)
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            # Stragglers of its group (a gunicorn worker, a celery child) get the same end.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.running.clear()


def run_step(name: str, argv: list, env: dict, folder: Path) -> float:
    """Run one set-up command to completion, its output to a log (shown if it fails)."""
    started = time.monotonic()
    log_path = folder / f"{name}.log"
    with open(log_path, "wb") as log:
        result = subprocess.run(
            [str(a) for a in argv], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        sys.stdout.write(log_path.read_text(errors="replace")[-4000:])
        raise SystemExit(f"{name} failed (exit {result.returncode}); log: {log_path}")
    return time.monotonic() - started


def static_root() -> Path:
    """The collected static files, cached between runs: with DEBUG off the pages need the
    manifest, and compressing the API docs' assets takes a minute or two. The folder's
    name changes with the pins and the project's own static files."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for path in sorted((ROOT / "static").rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(ROOT)} {stat.st_size} {stat.st_mtime_ns}".encode())
    return Path(tempfile.gettempdir()) / f"smarketing-load-static-{digest.hexdigest()[:12]}"


def collect_static(env: dict, folder: Path) -> None:
    if not (static_root() / "staticfiles.json").exists():
        run_step("collectstatic", [PY, "manage.py", "collectstatic", "--noinput", "--clear"], env, folder)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited (code {process.returncode}) before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our loopback server
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"no answer from {url} within {timeout:.0f} s")


def wait_for_log(path: Path, needle: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{path.stem} exited (code {process.returncode}); log: {path}")
        if path.exists() and needle in path.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise SystemExit(f"{path.stem} not ready within {timeout:.0f} s; log: {path}")


# --- CPU: who used the two cores during the load ----------------------------------------------


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def group_cpu(pgid: int) -> float:
    """CPU seconds of the live processes of a process group (Linux /proc; 0 elsewhere)."""
    return sum(cpu for _, group, cpu in _processes() if group == pgid)


def pids_cpu(pids: set[int]) -> float:
    return sum(cpu for pid, _, cpu in _processes() if pid in pids)


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK


def _processes():
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        yield int(entry.name), int(fields[2]), (int(fields[11]) + int(fields[12])) / TICK


def postgres_pids(server: str, name: str, env: dict) -> set[int]:
    code = (
        "import sys, psycopg2\n"
        "c = psycopg2.connect(sys.argv[1] + '/postgres')\n"
        "k = c.cursor(); k.execute('SELECT pid FROM pg_stat_activity WHERE datname = %s', [sys.argv[2]])\n"
        "print(' '.join(str(r[0]) for r in k.fetchall()))\n"
    )
    result = subprocess.run([str(PY), "-c", code, server, name], env=env, capture_output=True, text=True)
    return {int(pid) for pid in result.stdout.split()}


# --- database and broker ------------------------------------------------------------------------


def recreate_database(server: str, name: str, env: dict) -> None:
    code = (
        "import sys, psycopg2\n"
        "c = psycopg2.connect(sys.argv[1] + '/postgres'); c.autocommit = True\n"
        "k = c.cursor()\n"
        "k.execute('DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)' % sys.argv[2])\n"
        "if sys.argv[3] == 'create': k.execute('CREATE DATABASE \"%s\"' % sys.argv[2])\n"
    )
    subprocess.run([str(PY), "-c", code, server, name, "create"], check=True, env=env)


def analyze_database(server: str, name: str, env: dict) -> None:
    """Planner statistics for the freshly seeded tables (what autovacuum would do a minute
    later; on a server with autovacuum off it never does, and the dashboard's correlated
    subqueries then run ~10x slower)."""
    code = (
        "import sys, psycopg2\n"
        "c = psycopg2.connect(sys.argv[1] + '/' + sys.argv[2]); c.autocommit = True\n"
        "c.cursor().execute('ANALYZE')\n"
    )
    subprocess.run([str(PY), "-c", code, server, name], check=True, env=env)


def drop_database(server: str, name: str, env: dict) -> None:
    code = (
        "import sys, psycopg2\n"
        "c = psycopg2.connect(sys.argv[1] + '/postgres'); c.autocommit = True\n"
        "c.cursor().execute('DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)' % sys.argv[2])\n"
    )
    subprocess.run([str(PY), "-c", code, server, name], check=False, env=env)


def flush_broker(url: str, env: dict) -> None:
    """Tasks left in the broker by an earlier run belong to a database that is gone."""
    if url.startswith("redis://"):
        code = "import sys, redis; redis.Redis.from_url(sys.argv[1]).flushdb()"
        subprocess.run([str(PY), "-c", code, url], check=True, env=env)


# --- results ------------------------------------------------------------------------------------


def number(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def read_stats(prefix: Path) -> tuple[list[dict], dict]:
    rows, total = [], {}
    if not Path(f"{prefix}_stats.csv").exists():
        return rows, total
    with open(f"{prefix}_stats.csv", newline="") as stats:
        for row in csv.DictReader(stats):
            entry = {
                "method": row["Type"],
                "name": row["Name"],
                "requests": int(number(row["Request Count"])),
                "failures": int(number(row["Failure Count"])),
                "rps": round(number(row["Requests/s"]), 2),
                "p50_ms": number(row["50%"]),
                "p95_ms": number(row["95%"]),
                "p99_ms": number(row["99%"]),
                "max_ms": round(number(row["Max Response Time"])),
                "avg_ms": round(number(row["Average Response Time"]), 1),
            }
            if row["Name"] == "Aggregated":
                total = entry
            else:
                rows.append(entry)
    return rows, total


def read_failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as failures:
        return [
            {
                "method": r["Method"],
                "name": r["Name"],
                "error": r["Error"],
                "occurrences": int(r["Occurrences"]),
            }
            for r in csv.DictReader(failures)
        ]


def read_exceptions(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_exceptions.csv")
    if not path.exists():
        return []
    with open(path, newline="") as exceptions:
        return [
            {"count": int(r["Count"]), "message": r["Message"], "where": r["Traceback"][-300:]}
            for r in csv.DictReader(exceptions)
        ]


def server_log_summary(access_log: Path) -> dict:
    """Status classes and 5xx lines from gunicorn's access log: the server's own count."""
    statuses: dict[str, int] = {}
    errors = []
    if access_log.exists():
        for line in access_log.read_text(errors="replace").splitlines():
            parts = line.split(" ", 3)
            if len(parts) < 3 or not parts[0].isdigit():
                continue
            klass = parts[0][0] + "xx"
            statuses[klass] = statuses.get(klass, 0) + 1
            if parts[0].startswith("5"):
                errors.append(line)
    return {"status_classes": statuses, "server_errors": len(errors), "server_error_lines": errors[:20]}


def error_lines(log: Path, expected: tuple[str, ...] = ()) -> list[str]:
    """ERROR and CRITICAL lines and tracebacks, but not those of the log records that name
    a task id in `expected` (the failure's line and its traceback, up to the next record)."""
    if not log.exists():
        return []
    pattern = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback \(most recent call last\)")
    record_start = re.compile(r"^(\[)?\d{4}-\d\d-\d\d[ T]")
    found, in_expected = [], False
    for line in log.read_text(errors="replace").splitlines():
        if record_start.match(line):
            in_expected = any(task_id in line for task_id in expected)
        if pattern.search(line) and not in_expected:
            found.append(line)
    return found


def worker_summary(log: Path, expected: tuple[str, ...] = ()) -> dict:
    text = log.read_text(errors="replace") if log.exists() else ""
    succeeded: dict[str, int] = {}
    for task in re.findall(r"Task ([\w.]+)\[[^\]]+\] succeeded", text):
        succeeded[task] = succeeded.get(task, 0) + 1
    errors = error_lines(log, expected)
    return {"tasks_succeeded": succeeded, "errors": errors[:20], "error_count": len(errors)}


# --- a day's incidents, for the operator's figures ------------------------------------------------


class MailServer(socketserver.ThreadingTCPServer):
    """A loopback SMTP server that accepts every message (and counts it), and can go down
    and come back on the same port: the mail outage the outbox figures are for."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int) -> None:
        self.port = port
        self.received = 0
        self.thread: threading.Thread | None = None
        super().__init__(("127.0.0.1", port), _SmtpSession, bind_and_activate=False)

    def up(self) -> None:
        self.socket = socket.socket(self.address_family, self.socket_type)
        self.server_bind()
        self.server_activate()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def down(self) -> None:
        if self.thread:
            self.shutdown()
            self.server_close()
            self.thread = None


class _SmtpSession(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"220 load-test ESMTP\r\n")
        in_data = False
        while line := self.rfile.readline():
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    in_data = False
                    self.server.received += 1
                    self.wfile.write(b"250 queued\r\n")
                continue
            verb = line[:4].upper()
            if verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            if verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 end with .\r\n")
            elif verb == b"EHLO":
                self.wfile.write(b"250-load-test\r\n250 8BITMIME\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


def clocks_fall_due(server: str, name: str, env: dict, count: int, seconds: int) -> int:
    """Re-time `count` running clocks to fall due at even intervals during the load (and
    drop their warnings): deadlines pass while users work, so enforcement has breaches to
    record and the SLA lag has something to show. Returns how many were re-timed."""
    code = (
        "import sys, psycopg2\n"
        "c = psycopg2.connect(sys.argv[1] + '/' + sys.argv[2]); c.autocommit = True\n"
        "k = c.cursor()\n"
        "n, span = int(sys.argv[3]), float(sys.argv[4])\n"
        "k.execute('SELECT id FROM sla_clock WHERE met_at IS NULL AND cancelled_at IS NULL "
        "AND breached_at IS NULL AND due_at > now() ORDER BY id LIMIT %s', [n])\n"
        "ids = [r[0] for r in k.fetchall()]\n"
        "for i, pk in enumerate(ids, 1):\n"
        '    k.execute("UPDATE sla_clock SET due_at = now() + make_interval(secs => %s), warn_at = NULL '
        'WHERE id = %s", [span * i / (len(ids) + 1), pk])\n'
        "print(len(ids))\n"
    )
    result = subprocess.run(
        [str(PY), "-c", code, server, name, str(count), str(seconds)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(result.stdout.strip() or 0)


class Incidents:
    """What happens in a real day while the users click, so that every figure /metrics
    shows (docs/operations.md) moves during the run, and the scrapes prove it:

    - SLA deadlines fall due during the run (`clocks_fall_due`): the lag grows until the
      next enforcement run (every 15 s) records the breaches, which notify people;
    - the mail server is down for the middle third: those emails wait in the outbox;
    - a marketer imports a CSV through the API: import rows grow, and the running job's
      rows per second shows while it runs (scraped every half second then);
    - one malformed task message, as a release with another signature would leave in the
      queue: the task fails, and the failures counter shows it under the task's name.
      The worker's ERROR line for it is expected; any other still fails the run."""

    def __init__(self, host: str, env: dict, seconds: int, mail: MailServer, import_rows: int) -> None:
        self.host, self.env, self.seconds, self.mail = host, env, seconds, mail
        self.import_rows = import_rows
        self.begun = time.monotonic()
        self.done: dict[str, object] = {}
        self.expected_task_ids: list[str] = []
        self.mail_outage = (seconds / 3, 2 * seconds / 3)

    def elapsed(self) -> float:
        return time.monotonic() - self.begun

    def step(self, scrape_now) -> None:
        """Called about once a second from the scrape loop."""
        t = self.elapsed()
        if "malformed_task" not in self.done and t >= self.seconds * 0.15:
            self.done["malformed_task"] = self.malformed_task()
        if "mail_down" not in self.done and t >= self.mail_outage[0]:
            self.mail.down()
            self.done["mail_down"] = round(t, 1)
        if "mail_up" not in self.done and t >= self.mail_outage[1]:
            self.mail.up()
            self.done["mail_up"] = round(t, 1)
        if "import" not in self.done and t >= self.seconds * 0.25:
            self.done["import"] = self.run_import(scrape_now)

    def malformed_task(self) -> dict:
        out = subprocess.run(
            [str(BIN / "celery"), "-A", "smarketing", "call",
             "smarketing.notifications.tasks.notification_email", "--args", '["not-a-notification-id"]'],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        task_id = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        if task_id:
            self.expected_task_ids.append(task_id)
        return {
            "task": "smarketing.notifications.tasks.notification_email",
            "id": task_id,
            "sent": bool(task_id),
        }

    def run_import(self, scrape_now) -> dict:
        run = uuid.uuid4().hex[:8]
        lines = ["Email,First name,Last name,Company"]
        lines += [
            f"load-{run}-{i}@import.example.com,Lina{i},Load,Load Test GmbH" for i in range(self.import_rows)
        ]
        data, content_type = harness.multipart("file", f"load-{run}.csv", ("\n".join(lines) + "\n").encode())
        token = harness.token(self.host, "marketer")
        status, job, _ = harness.http(
            self.host, "POST", "/api/imports/", token=token, data=data, content_type=content_type
        )
        if status != 201:
            return {"upload_status": status, "error": str(job)[:300]}
        status, _, _ = harness.http(
            self.host, "POST", f"/api/imports/{job['id']}/start/", token=token, body={}
        )
        if status != 202:
            return {"start_status": status}
        deadline = time.monotonic() + 120
        state: dict = {}
        while time.monotonic() < deadline:
            scrape_now()  # while it runs: the rows-per-second gauge shows only then
            _, state, _ = harness.http(self.host, "GET", f"/api/imports/{job['id']}/", token=token)
            if isinstance(state, dict) and state.get("status") in ("done", "failed"):
                break
            time.sleep(0.4)
        return {
            "job": job["id"],
            "rows": self.import_rows,
            "status": state.get("status") if isinstance(state, dict) else None,
            "created": state.get("created_count") if isinstance(state, dict) else None,
        }


# What the operator watches (docs/operations.md), scraped from /metrics during the load:
# counters must grow, gauges are reported with the range they took.
METRICS_COUNTERS = (
    "smarketing_http_request_duration_seconds_count",
    "smarketing_celery_task_runs_total",
    "smarketing_celery_task_failures_total",
    "smarketing_import_rows_total",
)
METRICS_GAUGES = (
    "smarketing_sla_enforcement_lag_seconds",
    "smarketing_sla_enforcement_last_run_age_seconds",
    "smarketing_outbox_waiting",
    "smarketing_imports_running",
    "smarketing_import_rows_per_second",
)
# Each figure of the issue must move during the load (`Incidents` makes sure each has a cause).
MUST_GROW = METRICS_COUNTERS
MUST_RISE = (
    "smarketing_sla_enforcement_lag_seconds",
    "smarketing_outbox_waiting",
    "smarketing_import_rows_per_second",
)


def scrape(host: str, token: str) -> dict[str, float]:
    """One scrape of /metrics: each sample name's values summed over its labels."""
    request = urllib.request.Request(f"{host}/metrics", headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - loopback only
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        name = name.split("{", 1)[0]
        with contextlib.suppress(ValueError):
            sums[name] = sums.get(name, 0.0) + float(value)
    return sums


def metrics_summary(scrapes: list[dict[str, float]]) -> dict:
    if len(scrapes) < 2:
        return {"scrapes": len(scrapes)}
    first, last = scrapes[0], scrapes[-1]
    return {
        "scrapes": len(scrapes),
        "counters": {name: last.get(name, 0) - first.get(name, 0) for name in METRICS_COUNTERS},
        "gauges": {
            name: [min(s.get(name, 0) for s in scrapes), max(s.get(name, 0) for s in scrapes)]
            for name in METRICS_GAUGES
        },
    }


def print_table(rows: list[dict], total: dict, seconds: float) -> None:
    header = "| request | requests | failures | p50 ms | p95 ms | max ms |"
    print(header)
    print("|" + "|".join(["---"] + ["---:"] * 5) + "|")
    for row in sorted(rows, key=lambda r: -r["requests"]):
        print(
            f"| {row['method']} {row['name']} | {row['requests']} | {row['failures']} | "
            f"{row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['max_ms']} |"
        )
    if total:
        print(
            f"| **total** ({total['requests'] / seconds:.1f} req/s) | **{total['requests']}** | "
            f"**{total['failures']}** | **{total['p50_ms']:.0f}** | **{total['p95_ms']:.0f}** | "
            f"**{total['max_ms']}** |"
        )


# --- the run ------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    if not PY.exists():
        raise SystemExit(f"No virtual environment at {VENV}: run `python3 scripts/dev.py test` once first.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops everything
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="smarketing-load-"))
    say(f"Run folder (logs, locust CSVs): {folder}")
    mail = MailServer(free_port())
    mail.up()
    incidents = None
    deadlines = 0
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.postgres.rstrip('/')}/{args.database}",
        "DJANGO_SETTINGS_MODULE": "smarketing.settings.local",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_STATIC_ROOT": str(static_root()),
        "SMARKETING_VAR_DIR": str(folder / "var"),
        "CELERY_BROKER_URL": args.broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SLA_ENFORCE_EVERY_SECONDS": "15",
        "EMAIL_URL": f"smtp://127.0.0.1:{mail.port}",
        "PYTHONUNBUFFERED": "1",
        # /metrics for the scrapes below; gunicorn's two workers share their timings here.
        "SMARKETING_METRICS_TOKEN": hashlib.sha256(os.urandom(16)).hexdigest(),
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "prometheus"),
    }
    (folder / "var").mkdir()
    (folder / "prometheus").mkdir()
    scrapes: list[dict[str, float]] = []
    phases: dict[str, float] = {}
    processes = Processes(folder)
    prefix = folder / "locust"
    locust_exit = None
    cpu: dict[str, float] = {}
    try:
        if not args.reuse_db:
            say(f"Fresh database {args.database}")
            phase = time.monotonic()
            recreate_database(args.postgres.rstrip("/"), args.database, env)
            run_step("migrate", [PY, "manage.py", "migrate", "--noinput"], env, folder)
            collect_static(env, folder)
            phases["database"] = time.monotonic() - phase
            say(f"Seeding {args.leads:,} demo leads over {args.weeks} weeks (a few minutes for 3,000)")
            phases["seed"] = run_step(
                "seed",
                [PY, "manage.py", "seed_demo", "--leads", args.leads, "--weeks", args.weeks, "--no-logins"],
                env,
                folder,
            )
            if not args.no_analyze:
                analyze_database(args.postgres.rstrip("/"), args.database, env)
        else:
            run_step("migrate", [PY, "manage.py", "migrate", "--noinput"], env, folder)
            collect_static(env, folder)
        flush_broker(args.broker, env)

        port = free_port()
        host = f"http://127.0.0.1:{port}"
        say(f"Starting gunicorn on {host} (2 workers x 4 threads) and the worker with beat")
        phase = time.monotonic()
        worker = processes.start(
            "worker",
            [BIN / "celery", "-A", "smarketing", "worker", "--beat", "--concurrency", "1", "--loglevel", "INFO",
             "--hostname", "load@%h",
             "--schedule", folder / "var" / "celerybeat-schedule"],
            env,
        )  # fmt: skip
        server = processes.start(
            "gunicorn",
            [BIN / "gunicorn", "smarketing.wsgi", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
             "--access-logfile", folder / "access.log", "--access-logformat", "%(s)s %(m)s %(U)s %(L)s",
             "--graceful-timeout", "10", "--keep-alive", args.keep_alive, "--no-control-socket"],
            env,
        )  # fmt: skip
        wait_for_http(f"{host}/login/", server, timeout=60)
        wait_for_log(folder / "worker.log", " ready.", worker, timeout=60)
        phases["start"] = time.monotonic() - phase

        say(f"Locust: {args.users} users ({args.spawn_rate:g}/s) for {args.seconds} s")
        phase = time.monotonic()
        before = {
            "machine": machine_busy(),
            "gunicorn": group_cpu(server.pid),
            "worker": group_cpu(worker.pid),
            "postgres": pids_cpu(postgres_pids(args.postgres.rstrip("/"), args.database, env)),
        }
        deadlines = clocks_fall_due(args.postgres.rstrip("/"), args.database, env, 6, args.seconds)
        locust = processes.start(
            "locust",
            [BIN / "locust", "-f", LOCUSTFILE, "--host", host, "--headless", "-u", args.users,
             "-r", args.spawn_rate, "-t", f"{args.seconds}s", "--stop-timeout", "10",
             "--csv", prefix, "--only-summary", "--loglevel", "WARNING"],
            {**env, "LOAD_EXTRA_JSON": str(folder / "extra.json"), "LOAD_LOGIN_EACH": "1" if args.login_each else ""},
        )  # fmt: skip
        deadline = time.monotonic() + args.seconds + 120
        locust_cpu = 0.0
        scraped_at = 0.0
        token = env["SMARKETING_METRICS_TOKEN"]

        def scrape_now() -> None:
            nonlocal scraped_at
            scraped_at = time.monotonic()
            with contextlib.suppress(OSError):
                scrapes.append(scrape(host, token))

        scrape_now()  # before anything happened
        incidents = Incidents(host, env, args.seconds, mail, args.import_rows)
        while locust.poll() is None and time.monotonic() < deadline:
            locust_cpu = max(locust_cpu, group_cpu(locust.pid))  # read while it lives
            incidents.step(scrape_now)
            if time.monotonic() - scraped_at >= 2:
                scrape_now()
            time.sleep(1)
        try:
            locust_exit = locust.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            print("   locust did not end in time: stopped", flush=True)
        phases["load"] = time.monotonic() - phase
        cpu = {
            "gunicorn": group_cpu(server.pid) - before["gunicorn"],
            "worker": group_cpu(worker.pid) - before["worker"],
            "postgres": pids_cpu(postgres_pids(args.postgres.rstrip("/"), args.database, env))
            - before["postgres"],
            "locust": locust_cpu,
        }
        scrape_now()
        cpu["everything else on the machine"] = max(machine_busy() - before["machine"] - sum(cpu.values()), 0)
        cpu = {k: round(v, 1) for k, v in cpu.items()}
        if server.poll() is not None or worker.poll() is not None:
            print("   gunicorn or the worker died during the run: see their logs", flush=True)
    finally:
        say("Stopping locust, gunicorn and the worker")
        processes.stop_all()
        mail.down()
        if not args.keep_db and not args.reuse_db:
            drop_database(args.postgres.rstrip("/"), args.database, env)

    rows, total = read_stats(prefix)
    failures = read_failures(prefix)
    exceptions = read_exceptions(prefix)
    extra = json.loads((folder / "extra.json").read_text()) if (folder / "extra.json").exists() else {}
    server = server_log_summary(folder / "access.log")
    server["error_log_lines"] = error_lines(folder / "gunicorn.log")[:20]
    expected_failures = tuple(incidents.expected_task_ids) if incidents else ()
    worker = worker_summary(folder / "worker.log", expected_failures)
    runtime = time.monotonic() - started
    client_5xx = sum(extra.get("server_errors", {}).values())
    problems = []
    if not total.get("requests"):
        problems.append("no requests were made")
    if total.get("failures"):
        problems.append(f"{total['failures']} failed requests")
    if client_5xx or server["server_errors"]:
        problems.append(f"5xx answers: {max(client_5xx, server['server_errors'])}")
    if exceptions:
        problems.append(f"{sum(e['count'] for e in exceptions)} exceptions in the locustfile")
    if worker["error_count"]:
        problems.append(f"{worker['error_count']} error lines in the worker log")
    metrics = metrics_summary(scrapes)
    grew = metrics.get("counters", {})
    for name in MUST_GROW:
        if grew.get(name, 0) <= 0:
            problems.append(f"/metrics: {name} did not grow during the load ({metrics['scrapes']} scrapes)")
    ranged = metrics.get("gauges", {})
    for name in MUST_RISE:
        if ranged.get(name, [0, 0])[1] <= 0:
            problems.append(f"/metrics: {name} stayed at 0 during the load ({metrics['scrapes']} scrapes)")
    happened = incidents.done if incidents else {}
    if happened.get("import", {}).get("status") != "done":
        problems.append(f"the mid-run import did not finish: {happened.get('import')}")
    if not expected_failures:
        problems.append("the malformed task message could not be sent")
    if locust_exit not in (0, 1):  # 1 means failures, counted above
        problems.append(f"locust exited with {locust_exit}" if locust_exit else "locust did not finish")

    print()
    print(f"### Load: {args.users} users for {args.seconds} s, {args.leads:,} demo leads\n")
    print_table(rows, total, args.seconds)
    print()
    races = extra.get("races", {})
    print(
        "Expected races (refused as stale and counted as successes): "
        + (", ".join(f"{k} {v}" for k, v in sorted(races.items())) or "none")
    )
    print(f"Server status classes (gunicorn access log): {server['status_classes']}")
    print(
        f"Worker tasks run: {worker['tasks_succeeded'] or 'none'}; worker error lines: {worker['error_count']}"
    )
    if incidents:
        d = incidents.done
        print(
            f"Incidents: {deadlines} SLA deadlines fell due during the load; the mail server was down "
            f"from {d.get('mail_down', '?')} s to {d.get('mail_up', '?')} s ({mail.received} emails received "
            f"while up); a marketer's import through the API: {d.get('import')}; malformed task message: "
            f"{'sent' if expected_failures else 'NOT sent'}"
        )
    if "counters" in metrics:
        print(
            f"/metrics over {metrics['scrapes']} scrapes: grew "
            + ", ".join(f"{k.removeprefix('smarketing_')} +{v:g}" for k, v in metrics["counters"].items())
            + "; ranged "
            + ", ".join(
                f"{k.removeprefix('smarketing_')} {lo:g}..{hi:g}" for k, (lo, hi) in metrics["gauges"].items()
            )
        )
    if cpu:
        print(
            f"CPU seconds during the load ({os.cpu_count()} cores x {phases['load']:.0f} s = "
            f"{(os.cpu_count() or 1) * phases['load']:.0f} available): "
            + ", ".join(f"{k} {v:g}" for k, v in cpu.items())
        )
    print("Phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()) + f"; total {runtime:.0f} s")
    for failure in failures[:20]:
        print(
            f"FAILURE {failure['occurrences']}x {failure['method']} {failure['name']}: {failure['error'][:300]}"
        )
    for exception in exceptions[:10]:
        print(f"EXCEPTION {exception['count']}x {exception['message'][:300]}")
    for line in server["server_error_lines"][:10] + worker["errors"][:10]:
        print(f"ERROR {line[:300]}")
    print(f"Logs: {folder}")

    result = {
        "users": args.users,
        "seconds": args.seconds,
        "spawn_rate": args.spawn_rate,
        "leads": args.leads,
        "passed": not problems,
        "problems": problems,
        "requests": rows,
        "total": total,
        "requests_per_second": round(total.get("requests", 0) / args.seconds, 2),
        "races": races,
        "failures": failures,
        "exceptions": exceptions,
        "server": server,
        "worker": worker,
        "cpu_seconds": cpu,
        "metrics": metrics,
        "incidents": {
            **(incidents.done if incidents else {}),
            "deadlines": deadlines,
            "emails_received": mail.received,
        },
        "phases_seconds": {k: round(v, 1) for k, v in phases.items()},
        "runtime_seconds": round(runtime, 1),
        "logs": str(folder),
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"Results written to {args.json}")
    if problems:
        say("FAILED: " + "; ".join(problems))
        return 1
    say(f"PASSED: {total['requests']} requests, 0 failures, no 5xx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
