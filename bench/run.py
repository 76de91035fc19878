"""The whole benchmark, one command: generate, measure every area at each size, report.

    python3 scripts/dev.py bench                                   # 100k then 1M leads, every area
    python3 scripts/dev.py bench --sizes 5000,20000 --areas web    # a quick look

For each size, smallest first, the database is generated (fresh for the first size, grown
to the next by adding the leads after it: the same database as generating it in one go),
then each area runs in a process of its own (`python -m bench.<area> --size N --json …`,
so peak memory is the area's own) and reports its figures, each beside its floor measured
in the same run. Before the dashboard is timed, `bench.floors --check` proves at that size
that every floor computes exactly the dashboard's figures. An area that fails is reported
as failed and the others still run.

Across sizes: the SLA enforcement run at the largest size must be within ±20% of the
smallest, and every figure measured at two sizes gets its growth factor.

Writes OUT/latest.json (every figure, the machine, the run) and OUT/latest.md (a table per
size, the cross-size checks, the growth table) and prints the markdown. With the web area,
it then writes OUT/explain.md: the hot queries' plans at the largest size (bench.explain).
Exits 0 only if every target was met and no step failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import DATABASE, PG, PY, ROOT, Figure, read_json

AREAS = ["web", "sla", "importing", "migrating", "api"]
SLA_FLAT = 0.20  # the SLA run at the largest size: within ±20% of the smallest
STARTED = time.monotonic()


def say(message: str) -> None:
    elapsed = int(time.monotonic() - STARTED)
    stamp = f"{dt.datetime.now():%H:%M:%S} +{elapsed // 60:02d}:{elapsed % 60:02d}"
    print(f"[{stamp}] {message}", flush=True)


def size_label(n: int) -> str:
    """100000 → 100k, 1000000 → 1M, 1500000 → 1.5M."""
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if n >= scale:
            return f"{n / scale:g}{unit}"
    return str(n)


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


# --- the database --------------------------------------------------------------------------------


def _connect(database_url: str, database: str | None = None):
    import psycopg2

    url = urlsplit(database_url)
    return psycopg2.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=database or url.path.lstrip("/"),
        connect_timeout=5,
    )


def postgres_version(database_url: str) -> str:
    """The server's version; exits with how to start PostgreSQL when it does not answer."""
    url = urlsplit(database_url)
    try:
        with _connect(database_url, "postgres") as connection, connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('server_version')")
            return cursor.fetchone()[0]
    except Exception as error:  # noqa: BLE001 - any failure to connect means the same thing here
        sys.exit(
            f"PostgreSQL does not answer at {url.hostname}:{url.port or 5432} ({str(error).strip()}).\n"
            "Start it first, e.g. `docker compose up -d postgres` or `sudo service postgresql start` "
            "(the benchmark needs a server it may create and drop databases on; see bench/README.md)."
        )


def lead_count(database_url: str) -> int | None:
    try:
        with _connect(database_url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM leads_lead")
            return cursor.fetchone()[0]
    except Exception:  # noqa: BLE001 - no database or no table yet: nothing to count
        return None


def static_current() -> bool:
    """Is the static manifest newer than every file under static/ and the installed
    packages (whose static files, the admin's, come with them)? Then collectstatic, which
    compresses every file again (a few CPU minutes on this machine), can be skipped."""
    manifest = Path(os.environ.get("DJANGO_STATIC_ROOT", ROOT / "staticfiles")) / "staticfiles.json"
    if not manifest.exists():
        return False
    sources = [path for path in (ROOT / "static").rglob("*") if path.is_file()]
    sources += [path for path in (ROOT / ".venv" / ".smarketing-deps",) if path.exists()]
    newest = max((path.stat().st_mtime for path in sources), default=0)
    return manifest.stat().st_mtime > newest


# --- running the steps ---------------------------------------------------------------------------


def stream(command: list[str], prefix: str) -> int:
    """Run `command` from the project root, printing its output line by line under `prefix`.
    On Ctrl-C (which reaches the child too) wait for it to stop, then re-raise."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    try:
        for line in process.stdout:
            say(f"{prefix} {line.rstrip()}")
        return process.wait()
    except KeyboardInterrupt:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        raise


class Run:
    """What the run did and measured so far; written out after every step."""

    def __init__(self, args: argparse.Namespace, pg_version: str) -> None:
        self.args = args
        self.figures: list[Figure] = []
        self.steps: list[dict] = []  # per size: generation, floor check, each area
        self.problems: list[str] = []  # failed steps (each makes the exit status non-zero)
        self.info = {
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "sizes": args.sizes,
            "seed": args.seed,
            "areas": args.areas,
            "database_url": args.database_url,
            "machine": machine(pg_version),
        }

    def step(self, size: int, name: str, seconds: float, status: str, note: str = "") -> None:
        self.steps.append(
            {"size": size, "step": name, "seconds": round(seconds, 1), "status": status, "note": note}
        )
        if status != "ok":
            self.problems.append(f"{size_label(size)} {name}: {status}{f' ({note})' if note else ''}")


def machine(pg_version: str) -> dict:
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return result.stdout.strip()

    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{total_kb / 1024 / 1024:.1f} GB"
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(n, 2) for n in os.getloadavg()],
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "git_commit": git("rev-parse", "HEAD"),
        "git_uncommitted_changes": bool(git("status", "--porcelain")),
    }


def generate(run: Run, size: int, previous: int) -> bool:
    """Bring the database to `size` leads: fresh for the first size, grown after that."""
    url, seed = run.args.database_url, str(run.args.seed)
    if run.args.reuse and lead_count(url) == size:
        say(f"{size_label(size)}: the database already holds {size:,} leads (--reuse): not generating")
        run.step(size, "generate", 0, "ok", "reused")
        return True
    if previous:
        how = f"growing from {previous:,} to {size:,} leads"
        command = ["--leads", str(size - previous), "--first", str(previous + 1)]
    else:
        how = f"generating {size:,} leads in a fresh database"
        command = ["--leads", str(size), "--fresh"]
    say(f"{size_label(size)}: {how} (seed {seed})")
    started = time.monotonic()
    status = stream(
        [str(PY), "-m", "bench.generate", "--database-url", url, "--seed", seed, *command], "  generate"
    )
    seconds = time.monotonic() - started
    counted = lead_count(url) if status == 0 else None
    if status != 0:
        run.step(size, "generate", seconds, "failed", f"exit status {status}")
    elif counted != size:
        run.step(size, "generate", seconds, "failed", f"{counted} leads in the database, not {size}")
    else:
        run.step(size, "generate", seconds, "ok", how)
        say(f"{size_label(size)}: {size:,} leads in {seconds / 60:.1f} min")
        return True
    return False


def floor_check(run: Run, size: int) -> None:
    """Prove at this size that every dashboard floor computes the dashboard's figures."""
    say(f"{size_label(size)}: checking every floor's figures against the dashboard")
    started = time.monotonic()
    status = stream(
        [str(PY), "-m", "bench.floors", "--database-url", run.args.database_url, "--check"], "  floors"
    )
    run.step(size, "floor check", time.monotonic() - started, "ok" if status == 0 else "failed")


def plans(run: Run, size: int) -> None:
    """The hot queries' plans at the largest size (bench.explain), beside the results."""
    say(f"{size_label(size)}: the hot queries' plans (bench.explain)")
    started = time.monotonic()
    out = run.args.out / "explain.md"  # the folder exists: the results were written first
    status = stream(
        [str(PY), "-m", "bench.explain", "--database-url", run.args.database_url, "--out", str(out)],
        "  explain",
    )
    run.step(size, "plans", time.monotonic() - started, "ok" if status == 0 else "failed", str(out))


def area(run: Run, size: int, name: str) -> None:
    """One area in a process of its own; its figures, or why there are none."""
    if not (ROOT / "bench" / f"{name}.py").exists():
        say(f"{size_label(size)}: bench.{name} not found")
        run.step(size, f"area {name}", 0, "not found", f"bench/{name}.py does not exist")
        return
    say(f"{size_label(size)}: bench.{name}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="smarketing-bench-run-") as folder:
        out = Path(folder) / f"{name}.json"
        command = [str(PY), "-m", f"bench.{name}", "--database-url", run.args.database_url]
        status = stream([*command, "--size", str(size), "--json", str(out)], f"  {name}")
        seconds = time.monotonic() - started
        figures, note = [], f"exit status {status}"
        if status == 0:
            try:
                figures = read_json(out)
                note = ""
            except (OSError, ValueError, TypeError) as error:
                status, note = -1, f"no figures: {error}"
    if status != 0:
        run.step(size, f"area {name}", seconds, "failed", note)
        say(f"{size_label(size)}: bench.{name} FAILED ({note})")
        return
    run.figures += figures
    left = lead_count(run.args.database_url)
    if left != size:  # the next size grows this database: an area must leave it as it found it
        run.step(size, f"area {name}", seconds, "failed", f"left {left} leads in the database, not {size}")
        return
    run.step(size, f"area {name}", seconds, "ok", f"{len(figures)} figures")
    say(f"{size_label(size)}: bench.{name} done in {seconds:.0f} s, {len(figures)} figures")


# --- across sizes --------------------------------------------------------------------------------


def across_sizes(figures: list[Figure], sizes: list[int]) -> tuple[list[Figure], list[dict]]:
    """The SLA flatness check (a Figure with met) and every figure's growth factor."""
    measured = [size for size in sizes if any(f.size == size for f in figures)]
    by_name: dict[tuple[str, str], dict[int, Figure]] = {}
    for figure in figures:
        by_name.setdefault((figure.area, figure.name), {})[figure.size] = figure
    checks, growth = [], []
    for (area_name, name), at in by_name.items():
        present = [size for size in measured if size in at]
        if len(present) < 2:
            continue
        small, large = at[present[0]], at[present[-1]]
        factor = large.value / small.value if small.value else None
        growth.append(
            {
                "area": area_name,
                "name": name,
                "unit": small.unit,
                "values": {str(size): at[size].value for size in present},
                "factor": None if factor is None else round(factor, 2),
                "leads_factor": round(present[-1] / present[0], 2),
            }
        )
        if area_name == "SLA" and small.target and factor is not None:  # the timed enforcement run
            checks.append(
                Figure(
                    "SLA",
                    f"{name}: {size_label(present[-1])} vs {size_label(present[0])}",
                    round(factor, 2),
                    "×",
                    None,
                    f"within ±{SLA_FLAT:.0%} (0.8× to 1.2×)",
                    abs(factor - 1) <= SLA_FLAT,
                    present[-1],
                    f"{small.value:.1f} ms at {present[0]:,} leads, {large.value:.1f} ms at {present[-1]:,}",
                )
            )
    return checks, growth


# --- the report ----------------------------------------------------------------------------------


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "×":
        return f"{value:.2f}×"
    shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}"
    return f"{shown} {unit}".strip()


def ratio(figure: Figure) -> str:
    value = figure.ratio()
    if value is None:
        return "—"
    return f"{value:.2f}×" if value >= 0.1 else f"{value:.2g}×"  # 0.0047×: far below the floor


def met(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[value]


def table(figures: list[Figure]) -> list[str]:
    lines = [
        "| Area | Figure | Measured | Floor | × floor | Target | Met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for f in figures:
        unit = f.unit
        lines.append(
            f"| {f.area} | {f.name} | {number(f.value, unit)} | {number(f.floor, unit.split()[0])} "
            f"| {ratio(f)} | {f.target or '—'} | {met(f.met)} |"
        )
    return lines


def markdown(run: Run, checks: list[Figure], growth: list[dict]) -> str:
    info, machine_info = run.info, run.info["machine"]
    commit = machine_info["git_commit"][:10] + (
        " + uncommitted changes" if machine_info["git_uncommitted_changes"] else ""
    )
    lines = [
        f"# Benchmark {info['date']}",
        "",
        f"{machine_info['cpus']} CPUs (load average {', '.join(map(str, machine_info['load_average']))} at the start), "
        f"{machine_info['memory']}, PostgreSQL {machine_info['postgresql']}, Python {machine_info['python']}; "
        f"commit {commit}; seed {info['seed']}; areas {', '.join(info['areas'])}.",
    ]
    for size in run.args.sizes:
        figures = [f for f in run.figures if f.size == size]
        steps = [s for s in run.steps if s["size"] == size]
        if not figures and not steps:
            continue
        took = ", ".join(f"{s['step'].removeprefix('area ')} {s['seconds']:.0f} s" for s in steps)
        lines += ["", f"## {size_label(size)} leads ({size:,})", "", f"Wall time: {took}.", ""]
        lines += table(figures) if figures else ["No figures."]
        failed = [s for s in steps if s["status"] != "ok"]
        if failed:
            lines += [""] + [f"- **{s['step']}: {s['status']}** {s['note']}".rstrip() for s in failed]
    if checks:
        lines += ["", "## Across sizes", ""] + table(checks)
    if growth:
        sizes = [size for size in run.args.sizes if any(str(size) in g["values"] for g in growth)]
        lines += [
            "",
            "## Growth with data size",
            "",
            f"Factor: the figure at {size_label(sizes[-1])} ÷ at {size_label(sizes[0])} "
            f"({sizes[-1] / sizes[0]:g}× the leads). For times, 1.0 is flat; for rates (rows/s, req/s) "
            "below 1.0 is slower.",
            "",
            "| Area | Figure | " + " | ".join(size_label(s) for s in sizes) + " | Factor |",
            "|---|---|" + "---:|" * len(sizes) + "---:|",
        ]
        for g in growth:
            values = " | ".join(number(g["values"].get(str(s)), g["unit"]) for s in sizes)
            factor = "—" if g["factor"] is None else f"{g['factor']:.2f}×"
            lines.append(f"| {g['area']} | {g['name']} | {values} | {factor} |")
    missed = [f for f in [*run.figures, *checks] if f.met is False]
    lines += ["", "## Result", ""]
    if not missed and not run.problems:
        lines.append("Every target met; every area ran.")
    for f in missed:
        lines.append(
            f"- missed at {size_label(f.size)}: {f.area} · {f.name}: {number(f.value, f.unit)} ({f.target})"
        )
    lines += [f"- failed: {problem}" for problem in run.problems]
    return "\n".join(lines) + "\n"


def write(run: Run) -> tuple[str, list[Figure]]:
    checks, growth = across_sizes(run.figures, run.args.sizes)
    text = markdown(run, checks, growth)
    out = run.args.out
    out.mkdir(parents=True, exist_ok=True)
    missed = [f"{size_label(f.size)} {f.area} · {f.name}" for f in [*run.figures, *checks] if f.met is False]
    data = {
        **run.info,
        "steps": run.steps,
        "figures": [asdict(f) for f in run.figures],
        "across_sizes": [asdict(f) for f in checks],
        "growth": growth,
        "missed": missed,
        "failed": run.problems,
        "ok": not missed and not run.problems,
    }
    (out / "latest.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    (out / "latest.md").write_text(text)
    return text, [*run.figures, *checks]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        default="100000,1000000",
        type=lambda text: sorted({parse_size(part) for part in text.split(",") if part.strip()}),
        help="leads, comma-separated, run smallest first (100k and 1M are understood); default 100000,1000000",
    )
    parser.add_argument(
        "--areas",
        default=",".join(AREAS),
        type=lambda text: [part.strip() for part in text.split(",") if part.strip()],
        help=f"which areas, in this order (default {','.join(AREAS)})",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--database-url",
        default=f"{PG}/{DATABASE}",
        help="the database to generate into: dropped and created again (default %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="default bench/results")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="a size the database already holds exactly is not generated again",
    )
    args = parser.parse_args()
    unknown = [name for name in args.areas if name not in AREAS]
    if unknown or not args.sizes or min(args.sizes) < 1:
        parser.error(
            f"areas are some of {','.join(AREAS)}; sizes are positive"
            + (f" (not {unknown})" if unknown else "")
        )

    pg_version = postgres_version(args.database_url)
    run = Run(args, pg_version)
    say(
        f"benchmark: {', '.join(map(size_label, args.sizes))} leads; areas {', '.join(args.areas)}; "
        f"PostgreSQL {pg_version}; {os.cpu_count()} CPUs; database {args.database_url}"
    )
    from bench.common import environment

    if static_current():
        say("static files collected already (the manifest is newer than static/ and .venv)")
    else:
        say("collecting static files (the production settings serve pages from the manifest)")
        static = subprocess.run(
            [str(PY), "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=environment(args.database_url),
            check=False,
        )
        if static.returncode != 0:
            sys.exit("manage.py collectstatic failed: the production settings need the static manifest")
    interrupted = False
    previous = 0
    try:
        for size in args.sizes:
            if not generate(run, size, previous):
                say(f"{size_label(size)}: generation failed; the larger sizes cannot be grown from it")
                break
            previous = size
            for name in args.areas:
                if name == "web":
                    floor_check(run, size)
                area(run, size, name)
                write(run)
        if previous and "web" in args.areas:
            plans(run, previous)
            write(run)
    except KeyboardInterrupt:
        interrupted = True
        run.problems.append("interrupted (Ctrl-C)")
    text, figures = write(run)
    print("\n" + text, flush=True)
    say(f"results: {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    missed = [f for f in figures if f.met is False]
    for f in missed:
        say(f"MISSED {size_label(f.size)} {f.area} · {f.name}: {number(f.value, f.unit)} ({f.target})")
    for problem in run.problems:
        say(f"FAILED {problem}")
    if interrupted:
        return 130
    return 0 if not missed and not run.problems else 1


if __name__ == "__main__":
    sys.exit(main())
