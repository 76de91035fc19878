#!/usr/bin/env python3
"""Fuzz the API with schemathesis, from its own OpenAPI schema, as every role.

    python3 scripts/fuzz_api.py [--examples 6] [--leads 300] [--roles rep,marketer,...]

A fresh PostgreSQL database with the demo organisation, gunicorn on loopback and a
Celery worker; then, for each role, an API token and a schemathesis run over every
operation: no response may be a server error (5xx), and every response must match the
schema (status, content type, body). Exit status 1 when any check failed. The report of
each role is written to `reports/fuzz/<role>.xml` (JUnit) below the temporary folder it
prints.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

ROLES = {
    "employee": "technician",
    "marketer": "marketer",
    "rep": "rep",
    "sales-manager": "manager.sales",
    "marketing-manager": "manager.marketing",
    "admin": "admin",
}
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Revoking the token mid-run would log the role out for the rest of it; logging in with
# random credentials only locks out random usernames. Both are covered by tests/test_security.py.
EXCLUDE = ["--exclude-path", "/api/auth/token/"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=6, help="test cases per operation and role")
    parser.add_argument("--leads", type=int, default=300, help="demo leads to load first")
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated: " + ", ".join(ROLES))
    parser.add_argument("--seed", type=int, default=1, help="schemathesis' random seed")
    parser.add_argument(
        "--phases",
        default="examples,coverage,fuzzing",
        help="schemathesis phases (CI leaves out 'coverage', the longest)",
    )
    args = parser.parse_args()
    harness.need_venv()
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        parser.error(f"unknown role(s): {', '.join(unknown)}")

    database = "smarketing_fuzz"
    env = harness.environment(database, broker_db=13)
    out = Path(tempfile.mkdtemp(prefix="smarketing-fuzz-"))
    started = time.monotonic()
    harness.fresh_database(env, database, leads=args.leads, weeks=6)
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    results = {}
    with harness.Processes() as processes:
        processes.gunicorn(env, port, log=out / "gunicorn.log")
        processes.worker(env, log=out / "worker.log")
        for role in roles:
            harness.say(f"Fuzzing the API as {role} ({ROLES[role]})")
            token = harness.token(base, ROLES[role])
            began = time.monotonic()
            run = subprocess.run(
                [
                    harness.BIN / "st",
                    "run",
                    f"{base}/api/schema/",
                    "--header",
                    f"Authorization: Token {token}",
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    str(args.examples),
                    "--phases",
                    args.phases,
                    "--seed",
                    str(args.seed),
                    "--generation-database",
                    "none",
                    "--workers",
                    "1",
                    "--request-timeout",
                    "30",
                    "--no-color",
                    "--report",
                    "junit",
                    "--report-junit-path",
                    str(out / f"{role}.xml"),
                    *EXCLUDE,
                ],
                cwd=out,
                env={**env, "SCHEMATHESIS_HOOKS": ""},
            )
            results[role] = {"exit": run.returncode, "seconds": round(time.monotonic() - began, 1)}
    harness.drop_database(database)
    print(json.dumps(results, indent=2))
    print(f"Reports in {out}; {time.monotonic() - started:.0f} s in all.")
    failed = [role for role, result in results.items() if result["exit"] != 0]
    if failed:
        print(f"FAILED for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
