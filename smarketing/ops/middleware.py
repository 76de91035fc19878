"""What every request passes first: the operator's endpoints, the request id, the timing.

In settings.MIDDLEWARE, before Django's own:

1. `OpsEndpointsMiddleware` answers /healthz, /readyz and /metrics itself, before the host
   check (a load balancer or Prometheus calls a node by its address, which is not in
   ALLOWED_HOSTS), the HTTPS redirect, the session, CSRF and the login. None of the three
   builds a URL from the Host header or reads a cookie.
2. `RequestIdMiddleware` gives the request its id (`logs.REQUEST_ID`, every log line of
   the request carries it) and returns it as X-Request-ID.
3. `RequestMetricsMiddleware` times the rest, labelled by the URL's name.
"""

from __future__ import annotations

import re
import time
import uuid

from django.conf import settings

from smarketing.ops.logs import REQUEST_ID
from smarketing.ops.metrics import REQUEST_SECONDS
from smarketing.ops.urls import urlpatterns

ENDPOINTS = {f"/{pattern.pattern}": pattern.callback for pattern in urlpatterns}

# An id from the proxy is kept if it looks like one: 1-128 letters, digits and . _ : -
# (a UUID, a hex string, a proxy's own form); anything else is replaced, so that a log
# line never carries a client's arbitrary text.
REQUEST_ID_FORM = re.compile(r"[A-Za-z0-9._:-]{1,128}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class OpsEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ENDPOINTS.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)


def request_id_of(request) -> str:
    """The proxy's X-Request-ID when a trusted proxy is in front (SMARKETING_TRUSTED_PROXIES)
    and the id has a sane form; else a new one. Without a proxy, a client's header is not
    taken: the id is ours."""
    given = request.headers.get("X-Request-ID", "")
    if settings.TRUSTED_PROXIES and REQUEST_ID_FORM.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_of(request)
        token = REQUEST_ID.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            REQUEST_ID.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class RequestMetricsMiddleware:
    """Observes each request's time in `smarketing_http_request_duration_seconds`, labelled
    by the resolved URL's name (never the path: ids would make a series per lead),
    the method and the status class ("2xx"). A request no URL matched is "unmatched"."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(view, method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response
