from django.urls import path
from rest_framework.routers import SimpleRouter

from smarketing.intake import api

router = SimpleRouter()
router.register("imports", api.ImportJobViewSet, basename="import")

urlpatterns = [
    path("engagements/", api.EngagementIngestView.as_view(), name="engagements"),
    path("inbound/", api.InboundFormView.as_view(), name="inbound"),
    *router.urls,
]
