"""Running the real thing for the reliability scripts: a fresh database with demo data,
gunicorn on loopback, a Celery worker, and tidy shutdown. Standard library only; the
commands run from the project's .venv (`python3 scripts/dev.py deps` makes it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PY = BIN / "python"
PG = "postgres://postgres@127.0.0.1:5432"


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(database: str, broker_db: int, **extra: str) -> dict[str, str]:
    """The environment of every process: its own PostgreSQL database and Redis db."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smarketing.settings.local",
        "DATABASE_URL": f"{PG}/{database}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
        "DJANGO_DEBUG": "false",
        "SMARKETING_VAR_DIR": str(Path(tempfile.gettempdir()) / f"smarketing-{database}"),
        **extra,
    }


def manage(env: dict, *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def fresh_database(env: dict, database: str, *, leads: int, weeks: int = 8, static: bool = True) -> None:
    """Drop and create `database`, migrate, and load the demo organisation. `static`:
    collect the static files too (False when the caller's DJANGO_STATIC_ROOT has them)."""
    for sql in (f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"'):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    Path(env["SMARKETING_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    manage(env, "migrate", "--noinput", "-v0")
    if static:
        manage(env, "collectstatic", "--noinput", "-v0")
    say(f"Loading {leads:,} demo leads")
    manage(env, "seed_demo", "--leads", str(leads), "--weeks", str(weeks), "--no-logins")


def drop_database(database: str) -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-qc",
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        ],
        check=False,
    )


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {seconds:.0f} s")


class Processes:
    """Start processes; stop all of them on exit, whatever happened."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen] = []
        self.groups: set[int] = set()  # pids of the processes started in a session of their own

    def start(
        self, command: list, env: dict, log: Path | None = None, *, session: bool = False, wrap: list = ()
    ) -> subprocess.Popen:
        """`session`: the process leads a process group of its own, so that `kill` takes
        its children (gunicorn's and Celery's workers) with it, as a machine dying would.
        `wrap`: a command that execs the rest (e.g. `unshare` hiding folders from it)."""
        out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [str(c) for c in [*wrap, *command]],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=session,
        )
        self.running.append(process)
        if session:
            self.groups.add(process.pid)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL, no goodbye: to the whole group when the process has one."""
        if process.pid in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()

    def gunicorn(
        self,
        env: dict,
        port: int,
        *,
        workers: int = 2,
        threads: int = 4,
        log: Path | None = None,
        session: bool = False,
    ):
        process = self.start(
            [
                BIN / "gunicorn",
                "smarketing.wsgi",
                "-w",
                str(workers),
                "--threads",
                str(threads),
                "-b",
                f"127.0.0.1:{port}",
                "--no-control-socket",  # gunicorn 27's socket in ~/.gunicorn collides between servers
                "--graceful-timeout",
                "5",
            ],
            env,
            log,
            session=session,
        )
        wait_http(f"http://127.0.0.1:{port}/login/")
        return process

    def worker(
        self,
        env: dict,
        *,
        beat: bool = True,
        log: Path | None = None,
        name: str = "",
        session: bool = False,
        wrap: list = (),
    ):
        command = [BIN / "celery", "-A", "smarketing", "worker", "--concurrency", "1", "--loglevel", "INFO"]
        if name:  # two workers on one machine need two node names
            command += ["--hostname", f"{name}@%h"]
        return self.start(command + (["--beat"] if beat else []), env, log, session=session, wrap=wrap)

    def beat(self, env: dict, *, log: Path | None = None, session: bool = False, wrap: list = ()):
        """A beat on its own (its schedule file in the environment's SMARKETING_VAR_DIR)."""
        command = [BIN / "celery", "-A", "smarketing", "beat", "--loglevel", "INFO"]
        return self.start(command, env, log, session=session, wrap=wrap)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.pid in self.groups:  # stragglers of its group
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)


DEMO_PASSWORD = "smarketing-demo"  # noqa: S105 - the demo organisation's published password


def token(base: str, username: str, password: str = DEMO_PASSWORD) -> str:
    import json

    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{base}/api/auth/token/",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)["token"]


def http(
    base: str,
    method: str,
    path: str,
    *,
    token: str = "",
    body: dict | None = None,
    data: bytes | None = None,
    content_type: str = "application/json",
    headers: dict | None = None,
    timeout: float = 30,
) -> tuple[int, object, dict]:
    """(status, JSON or text, headers); status 0 when no HTTP answer came at all."""
    head = {"Content-Type": content_type, **(headers or {})}
    if token:
        head["Authorization"] = f"Token {token}"
    if body is not None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", method=method, data=data, headers=head)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
            status, raw, answer_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, answer_headers = error.code, error.read(), dict(error.headers)
    except OSError as error:
        return 0, str(error), {}
    text = raw.decode(errors="replace")
    try:
        return status, json.loads(text), answer_headers
    except ValueError:
        return status, text, answer_headers


def multipart(field: str, name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    )
    return (
        head.encode() + content + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def need_venv() -> None:
    if not PY.exists():
        sys.exit("Run `python3 scripts/dev.py deps` first: it makes .venv with the pinned dependencies.")
