#!/usr/bin/env python3
"""Faults against the real processes: PostgreSQL restarted, Redis stopped for a while.

    python3 scripts/faults.py [--redis-down 60] [--leads 200]

Starts a fresh database with the demo organisation, gunicorn on loopback and a Celery
worker with beat, then:

1. **PostgreSQL restarted** (`pg_ctlcluster … restart`) under gunicorn's persistent
   connections: once PostgreSQL is back, every request succeeds without restarting the app.
2. **Redis stopped** for `--redis-down` seconds: pages keep answering, marketers' hand-offs
   are recorded (the work they queue is kept, see smarketing/queue.py); when Redis is back
   the worker's beat sends what was kept — each handed-off MQL's rep is notified exactly
   once — and SLA enforcement catches up on a deadline that passed while Redis was down.

This script stops and starts the machine's PostgreSQL and Redis: run it where nothing else
needs them at that moment (CI runs it after the test suite). Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

DATABASE = "smarketing_faults"
BROKER_DB = 12
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


class Client:
    """A tiny API client with a token (standard library)."""

    def __init__(self, base: str, username: str) -> None:
        self.base, self.token = base, harness.token(base, username)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | str]:
        request = urllib.request.Request(  # noqa: S310 - loopback only
            f"{self.base}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, text[:300]
        except OSError as error:
            return 0, str(error)


def sql(query: str) -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DATABASE, "-tAc", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def wait(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)
    print(f"   ok: {message}", flush=True)


def postgres_restarted(api: Client) -> dict:
    harness.say("PostgreSQL restarted under gunicorn")
    status, _ = api.call("GET", "/api/leads/?page_size=5")
    expect(status == 200, "the API answers before the restart")
    cluster = subprocess.run(
        ["ls", "/etc/postgresql"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    began = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
        check=True,
        capture_output=True,
    )
    wait(lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0, 60, "PostgreSQL")
    down = time.monotonic() - began
    answers = [api.call("GET", "/api/leads/?page_size=5")[0] for _ in range(10)]
    expect(answers == [200] * 10, f"10 of 10 requests after the restart succeed (it took {down:.1f} s)")
    return {"restart_seconds": round(down, 1), "after": answers}


def redis_stopped(api: Client, marketer: Client, seconds: int) -> dict:
    harness.say(f"Redis stopped for {seconds} s")
    leads = [int(x) for x in sql(
        "SELECT id FROM leads_lead WHERE stage = 'lead' AND merged_into_id IS NULL AND recycle_count = 0 "
        "AND company <> '' AND job_title <> '' AND first_name <> '' AND last_name <> '' "
        "AND id IN (SELECT lead_id FROM leads_engagement) ORDER BY id LIMIT 5"
    ).split()]  # fmt: skip
    expect(len(leads) == 5, "five leads ready for a hand-off")
    # A response clock that falls due while Redis is down (SLA enforcement must catch up).
    clock = sql(
        "SELECT id FROM sla_clock WHERE met_at IS NULL AND breached_at IS NULL AND cancelled_at IS NULL "
        "ORDER BY due_at LIMIT 1"
    )
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], capture_output=True, check=False)
    wait(lambda: subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode != 0, 10,
         "Redis to stop")  # fmt: skip
    stopped = time.monotonic()
    if clock:
        sql(f"UPDATE sla_clock SET due_at = now() + interval '2 seconds', warn_at = NULL WHERE id = {clock}")  # noqa: S608 - an id read from the database
    pages = [
        api.call("GET", path)[0]
        for path in ("/api/leads/?page_size=5", "/api/reports/dashboard/", "/api/me/")
    ]
    expect(pages == [200, 200, 200], "the API and the dashboard answer while Redis is down")
    handed = []
    for lead_id in leads:
        status, body = marketer.call("POST", f"/api/leads/{lead_id}/qualify/", {})
        handed.append(status)
    expect(handed == [200] * 5, "five hand-offs are recorded while Redis is down")
    kept = int(sql("SELECT count(*) FROM leads_deferredtask"))
    expect(kept >= 5, f"the work they queue is kept ({kept} tasks)")
    time.sleep(max(0, seconds - (time.monotonic() - stopped)))
    subprocess.run(REDIS_START, check=True, capture_output=True)
    wait(lambda: subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode == 0, 30,
         "Redis to start")  # fmt: skip
    back = time.monotonic()
    ids = ",".join(map(str, leads))
    notified = wait(
        lambda: (
            int(
                sql(
                    f"SELECT count(*) FROM leads_notification WHERE kind = 'mql_assigned' AND lead_id IN ({ids})"  # noqa: S608 - ids read from the database
                )
            )
            == 5
            and not int(sql("SELECT count(*) FROM leads_deferredtask"))
        ),
        150,
        "the kept work to be sent and the reps notified",
    )
    caught_up = time.monotonic() - back
    expect(bool(notified), f"each rep is notified once, {caught_up:.0f} s after Redis is back")
    duplicates = int(
        sql(
            "SELECT count(*) FROM (SELECT recipient_id, kind, dedupe_key FROM leads_notification "
            "GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
        )
    )
    expect(duplicates == 0, "no notification twice")
    if clock:
        wait(lambda: sql(f"SELECT breached_at IS NOT NULL FROM sla_clock WHERE id = {clock}") == "t", 90,  # noqa: S608
             "the overdue clock's breach")  # fmt: skip
        expect(True, "the deadline that passed while Redis was down is recorded as breached")
    return {
        "down_seconds": seconds,
        "handoffs": handed,
        "kept_tasks": kept,
        "caught_up_seconds": round(caught_up),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-down", type=int, default=60, help="seconds Redis stays stopped")
    parser.add_argument("--leads", type=int, default=200, help="demo leads to load first")
    args = parser.parse_args()
    harness.need_venv()
    env = harness.environment(DATABASE, broker_db=BROKER_DB, SLA_ENFORCE_EVERY_SECONDS="5")
    harness.fresh_database(env, DATABASE, leads=args.leads, weeks=4)
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    results, failed = {}, False
    out = Path(env["SMARKETING_VAR_DIR"])
    with harness.Processes() as processes:
        processes.gunicorn(env, port, log=out / "gunicorn.log")
        processes.worker(env, log=out / "worker.log")
        manager, marketer = Client(base, "manager.sales"), Client(base, "marketer")
        for name, scenario in (
            ("postgres_restart", lambda: postgres_restarted(manager)),
            ("redis_stopped", lambda: redis_stopped(manager, marketer, args.redis_down)),
        ):
            try:
                results[name] = scenario()
            except AssertionError as exc:
                failed = True
                results[name] = {"failed": str(exc)}
                print(f"FAILED: {name}: {exc}", file=sys.stderr)
            finally:  # whatever happened, leave the services running
                subprocess.run(REDIS_START, capture_output=True, check=False)
    harness.drop_database(DATABASE)
    print(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
