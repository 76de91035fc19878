#!/usr/bin/env python3
"""The set-up commands, with nothing but Python 3.11+ on the machine.

    python3 scripts/dev.py run [PORT]  # the app on the embedded default (port 8000), demo data, SLA jobs
    python3 scripts/dev.py test        # lint, checks and the whole test suite
    python3 scripts/dev.py bench       # the performance benchmark at 100k and 1M leads (bench/README.md)

Each creates ./.venv and installs the pinned dependencies from pyproject.toml on first use
(again only when the pins change): `run` only what the app needs, `test` and `bench` the
development tools too. Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMPS = {False: VENV / ".smarketing-deps", True: VENV / ".smarketing-deps-dev"}


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def requirements(dev: bool) -> list[str]:
    """The pinned dependencies: the app's, and with `dev` the development tools too."""
    import tomllib  # here, so that an older Python gets the friendly message below

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + (project["optional-dependencies"]["dev"] if dev else [])


def _digest(wanted: list[str]) -> str:
    return hashlib.sha256("\n".join(wanted).encode()).hexdigest()


def _installed(dev: bool) -> bool:
    """Are these pins installed (a development install holds the app's pins too)?"""
    flavours = [True] if dev else [False, True]
    return any(
        STAMPS[flavour].exists() and STAMPS[flavour].read_text() == _digest(requirements(flavour))
        for flavour in flavours
    )


def ensure_venv(*, dev: bool = True) -> None:
    """The virtual environment with the pinned dependencies: the app's only for `run` (a
    first run installs in well under a minute), the development tools too for the rest."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs on whatever python3 is
        sys.exit("Smarketing needs Python 3.11 or newer.")
    if not PY.exists():
        say(f"Creating a virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if _installed(dev):
        return
    wanted = requirements(dev)
    say(
        "Installing the pinned dependencies"
        + (" and development tools" if dev else "")
        + " (first time only)"
    )
    subprocess.run(
        [PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *wanted], check=True
    )
    STAMPS[dev].write_text(_digest(wanted))


def manage(*args: str, env: dict | None = None) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, check=True, env=env)


def run(argv: list[str]) -> int:
    ensure_venv(dev=False)
    port = argv[0] if argv else os.environ.get("PORT", "8000")
    if not port.isdigit():
        sys.exit(f"The port is a number, like 8000 (got “{port}”): python3 scripts/dev.py run 8101")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "smarketing.settings.local"}
    env.setdefault("SLA_ENFORCE_EVERY_SECONDS", "30")
    # Links in emails and notifications point at the address being served.
    env.setdefault("SMARKETING_BASE_URL", f"http://127.0.0.1:{port}")
    say("Preparing the database")
    manage("migrate", "--noinput", "--verbosity", "0", env=env)
    say("Loading demo data (first run only)")
    manage("seed_demo", "--if-empty", "--no-logins", env=env)
    say(f"Starting the Celery worker with beat (SLA enforcement every {env['SLA_ENFORCE_EVERY_SECONDS']} s)")
    worker = subprocess.Popen(
        [BIN / "celery", "-A", "smarketing", "worker", "--beat", "--loglevel", "INFO", "--concurrency", "2"],
        cwd=ROOT,
        env=env,
    )
    server = subprocess.Popen(
        [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=ROOT, env=env
    )
    time.sleep(2)
    manage("demo_logins", "--url", f"http://127.0.0.1:{port}/", env=env)
    processes = [worker, server]
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGINT if p is server else signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


def test(argv: list[str]) -> int:
    ensure_venv()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "smarketing.settings.test"}
    steps = [
        ("ruff lint", [BIN / "ruff", "check", "."], env),
        ("ruff format", [BIN / "ruff", "format", "--check", "."], env),
        ("apps import downward only (import-linter, docs/architecture.md)", [BIN / "lint-imports"], env),
        ("Django system checks", [PY, "manage.py", "check", "--fail-level", "WARNING"], env),
        ("migrations up to date", [PY, "manage.py", "makemigrations", "--check", "--dry-run"], env),
        ("tests", [PY, "-m", "pytest", *argv], env),
    ]
    if env.get("DATABASE_URL", "").startswith("postgres") and not argv:
        # The erasure's promise (every personal value gone, every figure the same) is held
        # on both databases the product runs on: the whole suite ran on PostgreSQL above.
        sqlite = {k: v for k, v in env.items() if k != "DATABASE_URL"}
        erasure = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/privacy/test_erasure.py"]
        steps.append(("the erasure test on SQLite too (docs/privacy.md)", erasure, sqlite))
    for name, command, step_env in steps:
        say(name)
        result = subprocess.run(command, cwd=ROOT, env=step_env)
        if result.returncode != 0:
            print(f"FAILED: {name}", file=sys.stderr)
            return result.returncode
    return 0


def bench(argv: list[str]) -> int:
    ensure_venv()
    process = subprocess.Popen([PY, "-m", "bench.run", *argv], cwd=ROOT)
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the run too: it stops its step and reports
        return process.wait()


def deps(argv: list[str]) -> int:
    ensure_venv()
    return 0


def main() -> int:
    commands = {"run": run, "test": test, "bench": bench, "deps": deps}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
