"""The Prometheus endpoint, /metrics: what the product is doing, for an operator to watch.

Where each figure lives, since web and workers are separate processes on separate hosts
and a scrape reaches one web node, one process:

- request latency is measured in the web process that served the request
  (`middleware.RequestMetricsMiddleware`). Under gunicorn with several workers, set
  PROMETHEUS_MULTIPROC_DIR to an empty folder (per host, emptied at start): each worker
  writes its histogram there and any worker's scrape adds them up (prometheus-client's
  multiprocess mode). Without it, the histogram is this process's own.
- task runs and failures happen on the workers: they are kept in the database
  (`models.TaskCounter`), which every node reaches, and read at scrape time.
- the SLA lag, the outbox, imports and deferred tasks are read from the database at
  scrape time (`selectors.figures`, each query served by an index).

Access: a bearer token, SMARKETING_METRICS_TOKEN, compared in constant time. Unset, the
endpoint answers 404: nothing is served, nothing tells it exists. Set, a request without
the token (or with another) gets 401.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest

from smarketing.ops import selectors

log = logging.getLogger(__name__)

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

# This process's own metrics (not used for serving in multiprocess mode: the histogram's
# values are in PROMETHEUS_MULTIPROC_DIR's files then, and read from there).
LOCAL = CollectorRegistry()
if not MULTIPROC_DIR:
    ProcessCollector(registry=LOCAL)

REQUEST_SECONDS = Histogram(
    "smarketing_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by the URL's name, method and status class.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=LOCAL,
)


class DatabaseFigures:
    """The figures read from the database when scraped (a Prometheus custom collector)."""

    def collect(self):
        started = time.monotonic()
        try:
            f = selectors.figures()
        except DatabaseError as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            yield GaugeMetricFamily("smarketing_metrics_database_up", "1 if the scrape read the database.", 0)
            return
        yield GaugeMetricFamily("smarketing_metrics_database_up", "1 if the scrape read the database.", 1)

        def gauge(name, doc, value):
            return GaugeMetricFamily(name, doc, value=value)

        yield gauge(
            "smarketing_sla_enforcement_lag_seconds",
            "Age of the oldest SLA deadline (breach or warning) that has passed and that enforcement has not yet recorded; 0 when up to date.",
            f.sla_lag_seconds,
        )
        if f.sla_last_run_age_seconds is not None:
            yield gauge(
                "smarketing_sla_enforcement_last_run_age_seconds",
                "Seconds since the last SLA enforcement run started.",
                f.sla_last_run_age_seconds,
            )
        yield gauge(
            "smarketing_outbox_waiting", "Notifications whose email waits to be sent.", f.outbox_waiting
        )
        yield gauge(
            "smarketing_outbox_oldest_waiting_seconds",
            "Age of the oldest notification whose email waits; 0 when none waits.",
            f.outbox_oldest_seconds,
        )
        yield gauge(
            "smarketing_outbox_failed",
            "Notifications whose email was given up after every attempt.",
            f.outbox_failed,
        )
        yield CounterMetricFamily(
            "smarketing_import_rows", "Rows read by CSV imports, all jobs.", value=f.import_rows_total
        )
        yield gauge("smarketing_imports_running", "CSV imports running now.", f.imports_running)
        yield gauge(
            "smarketing_import_rows_per_second",
            "Rows per second of the imports running now (each job's rows over its time running), summed.",
            f.import_rows_per_second,
        )
        yield gauge(
            "smarketing_deferred_tasks",
            "Tasks kept in the database while the broker was down, waiting to be sent.",
            f.deferred_tasks,
        )
        families = {
            "runs": CounterMetricFamily(
                "smarketing_celery_task_runs", "Celery task runs on the workers, by task.", labels=["task"]
            ),
            "failures": CounterMetricFamily(
                "smarketing_celery_task_failures", "Celery task runs that failed, by task.", labels=["task"]
            ),
            "retries": CounterMetricFamily(
                "smarketing_celery_task_retries",
                "Celery task runs that ended asking for a retry, by task.",
                labels=["task"],
            ),
            "seconds": CounterMetricFamily(
                "smarketing_celery_task_seconds",
                "Time Celery tasks spent running, by task (divide by runs for the mean).",
                labels=["task"],
            ),
        }
        for row in f.tasks:
            for field, family in families.items():
                family.add_metric([row.task], getattr(row, field))
        yield from families.values()
        yield gauge(
            "smarketing_metrics_collect_seconds",
            "Time this scrape spent reading the database.",
            time.monotonic() - started,
        )


class _Scrape:
    """This process's metrics (or every worker's, in multiprocess mode) and the database's."""

    def collect(self):
        if MULTIPROC_DIR:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from LOCAL.collect()
        yield from DatabaseFigures().collect()


def _token_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Digests first: equal lengths, so neither the token nor its length leaks by timing.
    return hmac.compare_digest(
        hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(token.encode()).digest()
    )


@never_cache
@require_safe
def metrics(request):
    token = settings.SMARKETING_METRICS_TOKEN
    if not token:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    if not _token_matches(request.headers.get("Authorization", ""), token):
        response = HttpResponse("A valid metrics token is required.", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_Scrape()), content_type=CONTENT_TYPE_LATEST)
