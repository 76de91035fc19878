from django.urls import path
from rest_framework.routers import SimpleRouter

from smarketing.org import api

router = SimpleRouter()
router.register("campaigns", api.CampaignViewSet, basename="campaign")
router.register("teams", api.TeamViewSet, basename="team")

urlpatterns = [
    path("me/", api.MeView.as_view(), name="me"),
    path("auth/token/", api.TokenView.as_view(), name="token"),
    *router.urls,
]
