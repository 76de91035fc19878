from django.urls import path

from leads import api
from smarketing.core.routes import IdRouter

router = IdRouter()
router.register("leads", api.LeadViewSet, basename="lead")

urlpatterns = [
    path("recycled/", api.RecycledListView.as_view(), name="recycled"),
    path("queue/", api.QueueListView.as_view(), name="queue"),
    path("handoffs/", api.HandoffListView.as_view(), name="handoffs"),
    *router.urls,
]
