from django.urls import path

from reports import campaign_views, views

urlpatterns = [
    path("reports/", views.dashboard_page, name="dashboard"),
    # Each table of the dashboard, and the funnel as of a date, as CSV and as Excel.
    path("reports/export/<slug:slug>.csv", views.dashboard_export, name="dashboard-csv"),
    path("reports/export/<slug:slug>.xlsx", views.dashboard_export, {"fmt": "xlsx"}, name="dashboard-xlsx"),
    path("reports/funnel/", views.funnel_as_of_page, name="funnel-as-of"),
    path("reports/funnel/export.csv", views.funnel_as_of_export, name="funnel-as-of-csv"),
    path("reports/funnel/export.xlsx", views.funnel_as_of_export, {"fmt": "xlsx"}, name="funnel-as-of-xlsx"),
    path("agreement/goal/", views.goal_page, name="agreement-goal"),
    path("sla/", views.sla_overview, name="sla-overview"),
    path("sla/commitments/<id:team_id>/", views.commitment_save, name="commitment-save"),
    path("campaigns/", campaign_views.campaign_list, name="campaign-list"),
    path("campaigns/new/", campaign_views.campaign_new, name="campaign-new"),
    path("campaigns/<id:campaign_id>/", campaign_views.campaign_detail, name="campaign-detail"),
    path("campaigns/<id:campaign_id>/edit/", campaign_views.campaign_edit, name="campaign-edit"),
]
