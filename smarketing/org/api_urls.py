from django.urls import path

from smarketing.core.routes import IdRouter
from smarketing.org import api

router = IdRouter()
router.register("campaigns", api.CampaignViewSet, basename="campaign")
router.register("teams", api.TeamViewSet, basename="team")

urlpatterns = [
    path("me/", api.MeView.as_view(), name="me"),
    path("auth/token/", api.TokenView.as_view(), name="token"),
    *router.urls,
]
