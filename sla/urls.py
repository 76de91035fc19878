from django.urls import path

from sla import views

urlpatterns = [
    path("agreement/sla/", views.policy_list, name="sla-policies"),
    path("agreement/sla/policies/", views.policy_save, name="sla-policy-add"),
    path("agreement/sla/policies/<id:policy_id>/", views.policy_save, name="sla-policy-save"),
    path("agreement/sla/policies/<id:policy_id>/delete/", views.policy_delete, name="sla-policy-delete"),
    path("agreement/calendars/", views.calendar_list, name="calendars"),
    path("agreement/calendars/<id:team_id>/", views.calendar_save, name="calendar-save"),
    path("agreement/calendars/<id:team_id>/closures/", views.closure_add, name="closure-add"),
    path(
        "agreement/calendars/<id:team_id>/closures/<id:closure_id>/delete/",
        views.closure_remove,
        name="closure-remove",
    ),
]
