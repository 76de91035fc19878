from django.urls import path

from reports import api, campaign_api

urlpatterns = [
    path("reports/dashboard/", api.DashboardView.as_view(), name="dashboard"),
    path("reports/dashboard/<slug:slug>/", api.DashboardTableView.as_view(), name="dashboard-table"),
    path("reports/funnel-as-of/", api.FunnelAsOfView.as_view(), name="funnel-as-of"),
    path("agreement/goal/", api.GoalView.as_view(), name="agreement-goal"),
    path("sla/commitments/", api.CommitmentListView.as_view(), name="sla-commitments"),
    path("sla/commitments/<id:team_id>/", api.CommitmentView.as_view(), name="sla-commitment"),
    path(
        "campaigns/<id:campaign_id>/funnel/",
        campaign_api.CampaignFunnelView.as_view(),
        name="campaign-funnel",
    ),
]
