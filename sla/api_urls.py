from django.urls import path

from sla import api
from smarketing.core.routes import IdRouter

router = IdRouter()
router.register("sla/policies", api.SlaPolicyViewSet, basename="sla-policy")

urlpatterns = [
    *router.urls,
    path("sla/clocks/", api.ClockListView.as_view(), name="sla-clocks"),
    path("calendars/", api.CalendarListView.as_view(), name="calendars"),
    path("calendars/<id:team_id>/", api.CalendarView.as_view(), name="calendar"),
    path("calendars/<id:team_id>/closures/", api.ClosureListView.as_view(), name="calendar-closures"),
    path(
        "calendars/<id:team_id>/closures/<id:closure_id>/",
        api.ClosureView.as_view(),
        name="calendar-closure",
    ),
    path("calendars/<id:team_id>/preview/", api.DeadlinePreviewView.as_view(), name="deadline-preview"),
]
