from django.urls import path

from smarketing.agreement import api
from smarketing.core.routes import IdRouter

router = IdRouter()
router.register("reasons", api.ReasonViewSet, basename="reason")
router.register("scoring/rules", api.ScoringRuleViewSet, basename="scoring-rule")
router.register("routing/rules", api.RoutingRuleViewSet, basename="routing-rule")

urlpatterns = [
    path("agreement/", api.AgreementView.as_view(), name="agreement"),
    path("agreement/versions/", api.AgreementVersionListView.as_view(), name="agreement-versions"),
    path("agreement/versions/<id:number>/", api.AgreementVersionView.as_view(), name="agreement-version"),
    path(
        "agreement/versions/<id:number>/confirm/",
        api.AgreementVersionConfirmView.as_view(),
        name="agreement-version-confirm",
    ),
    path(
        "agreement/versions/<id:number>/withdraw/",
        api.AgreementVersionWithdrawView.as_view(),
        name="agreement-version-withdraw",
    ),
    path(
        "agreement/versions/<id:before>/diff/<id:after>/",
        api.AgreementVersionDiffView.as_view(),
        name="agreement-version-diff",
    ),
    path("scoring/", api.ScoringView.as_view(), name="scoring"),
    path("handoff-gate/", api.HandoffGateView.as_view(), name="handoff-gate"),
    *router.urls,
]
