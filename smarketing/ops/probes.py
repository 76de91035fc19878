"""What a load balancer probes: `/healthz` (the process answers) and `/readyz` (it can do
its work: the database answers, the broker answers, the migrations are applied).

Both are anonymous and cheap, and answered before the host check, the session, CSRF and
the login (`middleware.OpsEndpointsMiddleware`): a probe comes by the node's address, with
no cookie. A failing check is named in the body by its kind only (the exception's class,
"2 unapplied"); what it said — host names, ports — goes to the log, not to the public.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from celery import current_app as current_celery_app
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

# Seconds a probe waits for the broker: well under a load balancer's probe timeout.
BROKER_TIMEOUT = 2.0

# Migrations once seen applied stay applied for this process (its code does not change):
# later probes skip reading the migration files.
_migrated = False


@never_cache
@require_safe
def healthz(request):
    """Alive: the process answers. Touches nothing else."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_safe
def readyz(request):
    """Ready: 200 {"status": "ok", "checks": {...}} or 503 with what failed."""
    checks = {"database": database_check(), "broker": broker_check()}
    checks["migrations"] = migrations_check() if checks["database"] == "ok" else "not checked"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "failing", "checks": checks}, status=200 if ready else 503
    )


def _failed(check: str, exc: Exception) -> str:
    log.warning("readyz: %s failed: %s: %s", check, type(exc).__name__, exc)
    return f"failed: {type(exc).__name__}"


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _failed("database", exc)
    return "ok"


def broker_check() -> str:
    """The Celery broker answers. The embedded default's filesystem broker is a folder: it
    must exist and be writable. Any other (Redis) is connected to, with a short timeout."""
    app = current_celery_app
    url = app.conf.broker_write_url or app.conf.broker_url or ""
    try:
        if url.startswith("filesystem://"):
            options = app.conf.broker_transport_options or {}
            for key in ("data_folder_in", "data_folder_out"):
                folder = Path(options.get(key) or ".")
                if not folder.is_dir() or not os.access(folder, os.W_OK):
                    raise OSError(f"{key} {folder} is not a writable folder")
            return "ok"
        with app.connection_for_write(connect_timeout=BROKER_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)
    except Exception as exc:
        return _failed("broker", exc)
    return "ok"


def migrations_check() -> str:
    """Every migration on disk is applied (the migration executor's plan is empty)."""
    global _migrated
    if _migrated:
        return "ok"
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return _failed("migrations", exc)
    if plan:
        log.warning("readyz: %s migrations not applied, first %s", len(plan), plan[0][0])
        return f"{len(plan)} unapplied"
    _migrated = True
    return "ok"
