"""Log lines that say which request or task they belong to.

`REQUEST_ID` is set by `middleware.RequestIdMiddleware` for the length of a request,
`TASK` by the Celery signals (`signals`) for the length of a task. `ContextFilter` copies
them onto every record (attached to the handler in settings.LOGGING, so it sees records of
every logger); `JsonFormatter` writes one JSON object per line when
SMARKETING_LOG_FORMAT=json.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("smarketing_request_id", default="")
TASK: ContextVar[tuple[str, str]] = ContextVar("smarketing_task", default=("", ""))

# What every LogRecord has: anything else on a record came from `extra=` and is written out.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "task_id",
    "task_name",
    "context",
    # Django's request object (django.request's records): its repr holds the query string.
    "request",
}


class ContextFilter(logging.Filter):
    """Adds `request_id`, `task_id`, `task_name` (empty outside a request or task) and
    `context` (" request=… " or " task=…[id] ", for the plain format) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a 4xx/5xx response after the middleware is done: from its request.
        record.request_id = REQUEST_ID.get() or getattr(getattr(record, "request", None), "request_id", "")
        record.task_id, record.task_name = TASK.get()
        if record.request_id:
            record.context = f" request={record.request_id}"
        elif record.task_id:
            record.context = f" task={record.task_name}[{record.task_id}]"
        else:
            record.context = ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the request
    or task it belongs to, `extra=` fields, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "task_id", "task_name"):
            if getattr(record, key, ""):
                line[key] = getattr(record, key)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)
