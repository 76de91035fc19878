from django.urls import path
from rest_framework.routers import SimpleRouter

from sla import api

router = SimpleRouter()
router.register("sla/policies", api.SlaPolicyViewSet, basename="sla-policy")

urlpatterns = [
    *router.urls,
    path("sla/clocks/", api.ClockListView.as_view(), name="sla-clocks"),
    path("calendars/", api.CalendarListView.as_view(), name="calendars"),
    path("calendars/<int:team_id>/", api.CalendarView.as_view(), name="calendar"),
    path("calendars/<int:team_id>/closures/", api.ClosureListView.as_view(), name="calendar-closures"),
    path(
        "calendars/<int:team_id>/closures/<int:closure_id>/",
        api.ClosureView.as_view(),
        name="calendar-closure",
    ),
    path("calendars/<int:team_id>/preview/", api.DeadlinePreviewView.as_view(), name="deadline-preview"),
]
