"""Log lines say which request or task they belong to; SMARKETING_LOG_FORMAT=json writes
one JSON object per line (docs/operations.md)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import signals

from smarketing.notifications.tasks import notifications_deliver_pending
from smarketing.ops.logs import ContextFilter, JsonFormatter

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def json_lines():
    """Records of every logger, as SMARKETING_LOG_FORMAT=json writes them; returns the
    lines parsed."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    try:
        yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.level = level


@pytest.mark.django_db
def test_a_requests_log_lines_carry_its_id_which_the_response_returns(client, json_lines):
    response = client.get("/no-such-page/")  # Django logs the 404 ("Not Found: …")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    lines = [line for line in json_lines() if line["logger"] == "django.request"]
    assert lines, json_lines()
    line = lines[-1]
    assert line["request_id"] == request_id
    assert line["level"] == "WARNING" and "Not Found: /no-such-page/" in line["message"]
    assert line["time"].endswith("+00:00")
    # Each request its own id.
    assert client.get("/no-such-page/")["X-Request-ID"] != request_id


def test_an_exception_and_extra_fields_are_written_out(json_lines):
    log = logging.getLogger("tests.logs")
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        log.exception("it failed", extra={"lead_id": 7, "who": object()})
    (line,) = [line for line in json_lines() if line["logger"] == "tests.logs"]
    assert line["message"] == "it failed"
    assert line["lead_id"] == 7 and line["who"].startswith("<object")
    assert "ValueError: broken" in line["exc_info"]
    assert "request_id" not in line  # outside a request


@pytest.mark.django_db
@pytest.mark.parametrize(
    "given,kept",
    [
        ("3f2a9c1e-5b7d-4e0a-9c1b-2d3e4f5a6b7c", True),
        ("lb-1:abc.DEF_123", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("bad id", False),
        ('inject"\nFAKE LINE', False),
        ("é", False),
    ],
)
def test_behind_a_trusted_proxy_a_sane_request_id_is_kept(client, settings, given, kept):
    settings.TRUSTED_PROXIES = 1
    response = client.get("/login/", headers={"X-Request-ID": given})
    if kept:
        assert response["X-Request-ID"] == given
    else:
        assert response["X-Request-ID"] != given and len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_without_a_trusted_proxy_a_clients_request_id_is_not_taken(client, settings):
    settings.TRUSTED_PROXIES = 0
    response = client.get("/login/", headers={"X-Request-ID": "chosen-by-the-client"})
    assert response["X-Request-ID"] != "chosen-by-the-client"


def test_a_tasks_log_lines_carry_its_id_and_name(json_lines):
    task = notifications_deliver_pending
    signals.task_prerun.send(sender=task, task_id="task-id-1", task=task, args=(), kwargs={})
    logging.getLogger("tests.logs").info("inside the task")
    # (the eager-looking request: not counted, only the log context is cleared)
    task.request.is_eager = True
    try:
        signals.task_postrun.send(
            sender=task, task_id="task-id-1", task=task, args=(), kwargs={}, retval=None, state="SUCCESS"
        )
    finally:
        task.request.is_eager = False
    logging.getLogger("tests.logs").info("after it")
    inside, after = [line for line in json_lines() if line["logger"] == "tests.logs"]
    assert inside["task_id"] == "task-id-1" and inside["task_name"] == task.name
    assert "task_id" not in after


def test_the_plain_format_names_the_request_or_task_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
    ContextFilter().filter(record)
    formatter = logging.Formatter("%(levelname)s %(name)s%(context)s %(message)s")
    assert formatter.format(record) == "INFO x hello"


@pytest.mark.parametrize("fmt,formatter", [("json", "json"), ("plain", "plain"), (None, "plain")])
def test_the_setting_chooses_the_format(tmp_path, fmt, formatter):
    env = {**os.environ, "SMARKETING_VAR_DIR": str(tmp_path)}
    env.pop("SMARKETING_LOG_FORMAT", None)
    if fmt:
        env["SMARKETING_LOG_FORMAT"] = fmt
    code = "import smarketing.settings.base as s; print(s.LOGGING['handlers']['console']['formatter'])"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == formatter
