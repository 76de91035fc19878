from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("leads.api_urls")),
    path("api/", include(("sla.api_urls", "sla-api"))),
    path("api/", include(("reports.api_urls", "reports-api"))),
    path("", include("reports.urls")),
    path("", include("sla.urls")),
    path("", include("leads.urls")),
]

handler404 = "smarketing.schema.not_found"
handler500 = "smarketing.schema.failed"
