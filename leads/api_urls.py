from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, version_api

app_name = "api"

router = SimpleRouter()
router.register("leads", api.LeadViewSet, basename="lead")
router.register("reasons", api.ReasonViewSet, basename="reason")
router.register("campaigns", api.CampaignViewSet, basename="campaign")
router.register("teams", api.TeamViewSet, basename="team")
router.register("scoring/rules", api.ScoringRuleViewSet, basename="scoring-rule")
router.register("routing/rules", api.RoutingRuleViewSet, basename="routing-rule")
router.register("imports", api.ImportJobViewSet, basename="import")
router.register("notifications", api.NotificationViewSet, basename="notification")

urlpatterns = [
    path("me/", api.MeView.as_view(), name="me"),
    path("auth/token/", api.TokenView.as_view(), name="token"),
    path("agreement/", api.AgreementView.as_view(), name="agreement"),
    path("agreement/versions/", version_api.AgreementVersionListView.as_view(), name="agreement-versions"),
    path(
        "agreement/versions/<int:number>/",
        version_api.AgreementVersionView.as_view(),
        name="agreement-version",
    ),
    path(
        "agreement/versions/<int:number>/confirm/",
        version_api.AgreementVersionConfirmView.as_view(),
        name="agreement-version-confirm",
    ),
    path(
        "agreement/versions/<int:number>/withdraw/",
        version_api.AgreementVersionWithdrawView.as_view(),
        name="agreement-version-withdraw",
    ),
    path(
        "agreement/versions/<int:before>/diff/<int:after>/",
        version_api.AgreementVersionDiffView.as_view(),
        name="agreement-version-diff",
    ),
    path("scoring/", api.ScoringView.as_view(), name="scoring"),
    path("handoff-gate/", api.HandoffGateView.as_view(), name="handoff-gate"),
    path("engagements/", api.EngagementIngestView.as_view(), name="engagements"),
    path("inbound/", api.InboundFormView.as_view(), name="inbound"),
    path("recycled/", api.RecycledListView.as_view(), name="recycled"),
    path("handoffs/", api.HandoffListView.as_view(), name="handoffs"),
    *router.urls,
]
