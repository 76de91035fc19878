from django.urls import path

from . import api

urlpatterns = [
    path("reports/dashboard/", api.DashboardView.as_view(), name="dashboard"),
    path("reports/dashboard/<slug:slug>/", api.DashboardTableView.as_view(), name="dashboard-table"),
    path("reports/funnel-as-of/", api.FunnelAsOfView.as_view(), name="funnel-as-of"),
    path("agreement/goal/", api.GoalView.as_view(), name="agreement-goal"),
]
