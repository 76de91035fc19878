from django.urls import path

from leads import views

urlpatterns = [
    path("", views.home, name="home"),
    path("team/", views.work, name="work"),
    path("leads/", views.lead_list, name="lead-list"),
    # The list's leads for its filters, all of them, as CSV or Excel.
    path("leads/export.csv", views.lead_export, name="lead-export-csv"),
    path("leads/export.xlsx", views.lead_export, {"fmt": "xlsx"}, name="lead-export-xlsx"),
    path("leads/new/", views.lead_new, name="lead-new"),
    path("leads/<id:lead_id>/", views.lead_detail, name="lead-detail"),
    path("leads/<id:lead_id>/due/", views.lead_due, name="lead-due"),
    path("leads/<id:lead_id>/edit/", views.lead_edit, name="lead-edit"),
    path("leads/<id:lead_id>/merge/", views.lead_merge, name="lead-merge"),
    path("leads/<id:lead_id>/act/<slug:action>/", views.lead_action, name="lead-action"),
    path("leads/<id:lead_id>/notes/", views.lead_note_add, name="lead-note-add"),
    path("leads/<id:lead_id>/consent/", views.lead_consent, name="lead-consent"),
    path("queue/", views.queue, name="queue"),
    path("recycled/", views.recycled, name="recycled"),
    path("handoffs/", views.my_handoffs, name="my-handoffs"),
    # How far the re-score under a new scoring definition has got (the agreement's
    # scoring page shows it): a count of leads, so the funnel answers.
    path("agreement/scoring/progress/", views.scoring_progress, name="scoring-progress"),
]
