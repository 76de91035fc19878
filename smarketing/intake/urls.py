from django.urls import path

from smarketing.intake import migration_views, views

urlpatterns = [
    path("imports/", views.import_list, name="import-list"),
    path("migrations/", migration_views.migrations, name="migrations"),
    path("imports/<id:job_id>/", views.import_detail, name="import-detail"),
    path("imports/<id:job_id>/mapping/", views.import_configure, name="import-configure"),
    path("imports/<id:job_id>/progress/", views.import_progress, name="import-progress"),
    path("imports/<id:job_id>/failed-rows.csv", views.import_failed_rows, name="import-failed-rows"),
    path(
        "imports/<id:job_id>/failed-rows.xlsx",
        views.import_failed_rows_xlsx,
        name="import-failed-rows-xlsx",
    ),
    path("refer/", views.refer, name="refer"),
    path("agreement/inbound/", views.inbound_sources, name="inbound-sources"),
    path(
        "agreement/inbound/<id:source_id>/consent-wording/",
        views.inbound_source_consent_wording,
        name="inbound-source-consent-wording",
    ),
    path(
        "agreement/inbound/<id:source_id>/revoke/",
        views.inbound_source_revoke,
        name="inbound-source-revoke",
    ),
]
