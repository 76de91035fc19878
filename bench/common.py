"""What every benchmark area shares: the figure it reports, timing, and the environment.

Each area is a module with `measure(size, database_url) -> list[Figure]` and a command
line (`python -m bench.<area> --database-url … --size N --json out.json`); `bench/run.py`
runs each in its own process (so peak memory is the area's own) and merges the figures.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PY = BIN / "python"
PG = "postgres://postgres@127.0.0.1:5432"
DATABASE = "smarketing_bench"
PASSWORD = "smarketing-bench"  # noqa: S105 - the synthetic organisation's published password
# The synthetic organisation's people (bench.generate makes them; every area may log in as them).
MANAGER = "bench.manager"  # manages the sales team; reads reports
MARKETER = "bench.marketer"
REPS = [f"bench.rep{n}" for n in range(1, 13)]


@dataclass
class Figure:
    area: str  # dashboard | lead list | lead detail | SLA | import | API
    name: str  # what was measured: "whole page", "search by company", …
    value: float
    unit: str  # ms | rows/s | MB | req/s
    floor: float | None  # the same work at its fastest on this machine, same run; None: no floor
    target: str  # the target in words ("p95 < 100 ms"), "" when none
    met: bool | None  # None when the figure has no target
    size: int  # leads in the database when measured
    detail: str = ""  # how it was measured, or what the floor was

    def ratio(self) -> float | None:
        """value ÷ floor: how far from the fastest the machine can do (for times: ≥ 1)."""
        return self.value / self.floor if self.floor else None


def environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmark process: production settings, no debug, tasks queued
    to a Redis db of their own (no worker reads it unless an area starts one)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smarketing.settings.local",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13"),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SMARKETING_VAR_DIR": str(Path(tempfile.gettempdir()) / "smarketing-bench"),
        **extra,
    }


def django_setup(database_url: str, **extra: str) -> None:
    """Set this process up as the app (same settings as production, DEBUG off)."""
    os.environ.update(environment(database_url, **extra))
    Path(os.environ["SMARKETING_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def timed(action: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Milliseconds per call of `action`, after `warmup` calls that are not counted."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def write_json(figures: list[Figure], path: str | None) -> None:
    rows = [asdict(figure) for figure in figures]
    if path:
        Path(path).write_text(json.dumps(rows, indent=2))
    else:
        print(json.dumps(rows, indent=2))


def read_json(path: str | Path) -> list[Figure]:
    return [Figure(**row) for row in json.loads(Path(path).read_text())]


def area_main(measure: Callable[..., list[Figure]], description: str) -> int:
    """The command line every area module shares."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url", default=f"{PG}/{DATABASE}")
    parser.add_argument("--size", type=int, required=True, help="leads in the database (for the record)")
    parser.add_argument("--json", help="write the figures here (default: print them)")
    args = parser.parse_args()
    figures = measure(args.size, args.database_url)
    write_json(figures, args.json)
    for figure in figures:
        mark = {True: "ok", False: "MISSED", None: ""}[figure.met]
        floor = f" (floor {figure.floor:,.1f})" if figure.floor is not None else ""
        print(
            f"{figure.area:12} {figure.name:40} {figure.value:12,.1f} {figure.unit}{floor} {mark}",
            file=sys.stderr,
        )
    return 0
