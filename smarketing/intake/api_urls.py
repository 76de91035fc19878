from django.urls import path

from smarketing.core.routes import IdRouter
from smarketing.intake import api

router = IdRouter()
router.register("imports", api.ImportJobViewSet, basename="import")

urlpatterns = [
    path("engagements/", api.EngagementIngestView.as_view(), name="engagements"),
    path("inbound/", api.InboundFormView.as_view(), name="inbound"),
    path("referrals/", api.ReferralListView.as_view(), name="referrals"),
    *router.urls,
]
