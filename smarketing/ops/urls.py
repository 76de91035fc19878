"""The addresses an operator's tools call: probes and metrics, at the site's root."""

from django.urls import path

from smarketing.ops import metrics, probes

urlpatterns = [
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
]
