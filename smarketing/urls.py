"""Every address, assembled from the apps' own URL modules (pages, then the API)."""

from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from smarketing.core.routes import IdConverter

# `<id:...>`: an id of at most 18 digits (a longer one is an address that names nothing).
register_converter(IdConverter, "id")

# Lowest layer first, as in INSTALLED_APPS; no two apps share an address.
APPS = (
    ("smarketing.org", "org"),
    ("smarketing.notifications", "notifications"),
    ("smarketing.agreement", "agreement"),
    ("sla", "sla"),
    ("leads", "leads"),
    ("smarketing.intake", "intake"),
    ("reports", "reports"),
    ("smarketing.privacy", "privacy"),
)

urlpatterns = [
    # /healthz, /readyz, /metrics: for the load balancer and Prometheus (docs/operations.md).
    path("", include("smarketing.ops.urls")),
    # Browsers ask for /favicon.ico whatever the page says: send them to the icon.
    # (at request time: the static file's hashed name is known once collectstatic has run).
    path("favicon.ico", lambda request: redirect(static("favicon.svg"), permanent=True), name="favicon"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's script as a file of its own: no inline script,
    # as the Content-Security-Policy asks.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *(path("api/", include((f"{app}.api_urls", f"{label}-api"))) for app, label in APPS),
    *(path("", include(f"{app}.urls")) for app, _ in APPS),
]

handler404 = "smarketing.core.schema.not_found"
handler500 = "smarketing.core.schema.failed"
