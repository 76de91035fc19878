from django.urls import path

from . import views

urlpatterns = [
    path("agreement/calendars/", views.calendar_list, name="calendars"),
    path("agreement/calendars/<int:team_id>/", views.calendar_save, name="calendar-save"),
    path("agreement/calendars/<int:team_id>/closures/", views.closure_add, name="closure-add"),
    path(
        "agreement/calendars/<int:team_id>/closures/<int:closure_id>/delete/",
        views.closure_remove,
        name="closure-remove",
    ),
]
