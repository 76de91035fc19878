#!/usr/bin/env python3
"""Fuzz the API with schemathesis, from its own OpenAPI schema, as every role.

    python3 scripts/fuzz_api.py [--examples 6] [--stateful-examples 30] [--leads 300]
                                [--roles rep,marketer,...]

A fresh PostgreSQL database with the demo organisation, gunicorn on loopback and a
Celery worker; then, for each role, an API token and two schemathesis runs with every
check on and positive and negative data: the examples, coverage and fuzzing phases over
every operation, then the stateful phase, which follows the schema's links from what the
API lists and creates to the operations on one row. No response may be a server error;
every response must match the schema (status, content type, body); schema-valid data is
never refused as malformed (400) and schema-invalid data is never accepted; a row removed
is gone. The settings are in scripts/fuzz/schemathesis.toml. Exit status 1 when any check
failed. JUnit reports (`<role>.xml`, `<role>-stateful.xml`) are written to the temporary
folder it prints.
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
CHECKS = "all"
CONFIG = Path(__file__).resolve().parent / "fuzz" / "schemathesis.toml"
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
        default="examples,coverage,fuzzing,stateful",
        help="schemathesis phases (CI leaves out 'coverage', the longest)",
    )
    parser.add_argument(
        "--stateful-examples",
        type=int,
        default=0,
        help="scenarios of the stateful phase (default: --examples)",
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
            phases = [p for p in args.phases.split(",") if p and p != "stateful"]
            runs = []
            if phases:
                runs.append(("", ",".join(phases), args.examples))
            if "stateful" in args.phases.split(","):
                runs.append(("-stateful", "stateful", args.stateful_examples or args.examples))
            exits = [
                _schemathesis(base, token, phases, examples, args.seed, out / f"{role}{suffix}.xml", env)
                for suffix, phases, examples in runs
            ]
            results[role] = {"exit": max(exits, default=0), "seconds": round(time.monotonic() - began, 1)}
    harness.drop_database(database)
    print(json.dumps(results, indent=2))
    print(f"Reports in {out}; {time.monotonic() - started:.0f} s in all.")
    failed = [role for role, result in results.items() if result["exit"] != 0]
    if failed:
        print(f"FAILED for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _schemathesis(base, token, phases, examples, seed, report, env) -> int:
    return subprocess.run(
        [
            harness.BIN / "st",
            "--config-file",
            str(CONFIG),
            "run",
            f"{base}/api/schema/",
            "--header",
            f"Authorization: Token {token}",
            "--checks",
            CHECKS,
            "--mode",
            "all",  # positive and negative data
            "--max-examples",
            str(examples),
            "--phases",
            phases,
            "--seed",
            str(seed),
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
            str(report),
            *EXCLUDE,
        ],
        cwd=report.parent,
        env={**env, "SCHEMATHESIS_HOOKS": ""},
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
