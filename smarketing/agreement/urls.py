from django.urls import path

from smarketing.agreement import views

urlpatterns = [
    path("agreement/", views.agreement_overview, name="agreement"),
    path("agreement/versions/", views.version_list, name="agreement-versions"),
    path("agreement/versions/compare/", views.version_compare, name="agreement-compare"),
    path("agreement/versions/<id:number>/", views.version_detail, name="agreement-version"),
    path("agreement/versions/<id:number>/note/", views.version_note, name="agreement-version-note"),
    path(
        "agreement/versions/<id:number>/confirm/",
        views.version_confirm,
        name="agreement-version-confirm",
    ),
    path(
        "agreement/versions/<id:number>/withdraw/",
        views.version_withdraw,
        name="agreement-version-withdraw",
    ),
    path("agreement/reasons/", views.agreement_reasons, name="agreement-reasons"),
    path("agreement/reasons/add/", views.reason_save, name="reason-add"),
    path("agreement/reasons/<id:reason_id>/", views.reason_save, name="reason-save"),
    path("agreement/handoff/", views.agreement_handoff, name="agreement-handoff"),
    path("agreement/routing/", views.agreement_routing, name="agreement-routing"),
    path("agreement/routing/rules/", views.routing_rule_save, name="routing-rule-add"),
    path("agreement/routing/rules/<id:rule_id>/", views.routing_rule_save, name="routing-rule-save"),
    path(
        "agreement/routing/rules/<id:rule_id>/delete/",
        views.routing_rule_delete,
        name="routing-rule-delete",
    ),
    path("agreement/routing/members/<id:membership_id>/", views.membership_save, name="membership-save"),
    path("agreement/scoring/", views.agreement_scoring, name="agreement-scoring"),
    path("agreement/scoring/settings/", views.scoring_definition_save, name="scoring-definition-save"),
    path("agreement/scoring/rules/", views.scoring_rule_save, name="scoring-rule-add"),
    path("agreement/scoring/rules/<id:rule_id>/", views.scoring_rule_save, name="scoring-rule-save"),
    path(
        "agreement/scoring/rules/<id:rule_id>/delete/",
        views.scoring_rule_delete,
        name="scoring-rule-delete",
    ),
]
