from django.urls import path
from rest_framework.routers import SimpleRouter

from leads import api

router = SimpleRouter()
router.register("leads", api.LeadViewSet, basename="lead")

urlpatterns = [
    path("recycled/", api.RecycledListView.as_view(), name="recycled"),
    path("handoffs/", api.HandoffListView.as_view(), name="handoffs"),
    *router.urls,
]
