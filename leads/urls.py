from django.contrib.auth import views as auth_views
from django.urls import path

from . import agreement_views, import_views, profile_views, version_views, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("team/", views.work, name="work"),
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/new/", profile_views.lead_new, name="lead-new"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:lead_id>/due/", views.lead_due, name="lead-due"),
    path("leads/<int:lead_id>/edit/", profile_views.lead_edit, name="lead-edit"),
    path("leads/<int:lead_id>/merge/", profile_views.lead_merge, name="lead-merge"),
    path("leads/<int:lead_id>/act/<slug:action>/", views.lead_action, name="lead-action"),
    path("recycled/", views.recycled, name="recycled"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_read, name="inbox-read-all"),
    path("inbox/<int:notification_id>/read/", views.inbox_read, name="inbox-read"),
    path("handoffs/", views.my_handoffs, name="my-handoffs"),
    path("refer/", views.refer, name="refer"),
    path("imports/", import_views.import_list, name="import-list"),
    path("imports/<int:job_id>/", import_views.import_detail, name="import-detail"),
    path("imports/<int:job_id>/mapping/", import_views.import_configure, name="import-configure"),
    path("imports/<int:job_id>/progress/", import_views.import_progress, name="import-progress"),
    path("imports/<int:job_id>/failed-rows.csv", import_views.import_failed_rows, name="import-failed-rows"),
    path("agreement/", agreement_views.agreement_overview, name="agreement"),
    path("agreement/versions/", version_views.version_list, name="agreement-versions"),
    path("agreement/versions/compare/", version_views.version_compare, name="agreement-compare"),
    path("agreement/versions/<int:number>/", version_views.version_detail, name="agreement-version"),
    path("agreement/versions/<int:number>/note/", version_views.version_note, name="agreement-version-note"),
    path(
        "agreement/versions/<int:number>/confirm/",
        version_views.version_confirm,
        name="agreement-version-confirm",
    ),
    path(
        "agreement/versions/<int:number>/withdraw/",
        version_views.version_withdraw,
        name="agreement-version-withdraw",
    ),
    path("agreement/reasons/", agreement_views.agreement_reasons, name="agreement-reasons"),
    path("agreement/reasons/add/", agreement_views.reason_save, name="reason-add"),
    path("agreement/reasons/<int:reason_id>/", agreement_views.reason_save, name="reason-save"),
    path("agreement/handoff/", agreement_views.agreement_handoff, name="agreement-handoff"),
    path("agreement/routing/", agreement_views.agreement_routing, name="agreement-routing"),
    path("agreement/routing/rules/", agreement_views.routing_rule_save, name="routing-rule-add"),
    path(
        "agreement/routing/rules/<int:rule_id>/", agreement_views.routing_rule_save, name="routing-rule-save"
    ),
    path(
        "agreement/routing/rules/<int:rule_id>/delete/",
        agreement_views.routing_rule_delete,
        name="routing-rule-delete",
    ),
    path(
        "agreement/routing/members/<int:membership_id>/",
        agreement_views.membership_save,
        name="membership-save",
    ),
    path("agreement/inbound/", agreement_views.inbound_sources, name="inbound-sources"),
    path(
        "agreement/inbound/<int:source_id>/revoke/",
        agreement_views.inbound_source_revoke,
        name="inbound-source-revoke",
    ),
    path("agreement/scoring/", agreement_views.agreement_scoring, name="agreement-scoring"),
    path("agreement/scoring/progress/", agreement_views.scoring_progress, name="scoring-progress"),
    path(
        "agreement/scoring/settings/", agreement_views.scoring_definition_save, name="scoring-definition-save"
    ),
    path("agreement/scoring/rules/", agreement_views.scoring_rule_save, name="scoring-rule-add"),
    path(
        "agreement/scoring/rules/<int:rule_id>/", agreement_views.scoring_rule_save, name="scoring-rule-save"
    ),
    path(
        "agreement/scoring/rules/<int:rule_id>/delete/",
        agreement_views.scoring_rule_delete,
        name="scoring-rule-delete",
    ),
]
