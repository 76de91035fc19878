from django.urls import path

from smarketing.privacy import api

urlpatterns = [
    path("privacy/audit/", api.PrivacyAuditListView.as_view(), name="audit"),
    path("privacy/people/<id:lead_id>/export/", api.PersonExportView.as_view(), name="person-export"),
    path("privacy/people/<id:lead_id>/erase/", api.PersonEraseView.as_view(), name="person-erase"),
    path("privacy/retention/", api.RetentionPolicyView.as_view(), name="retention"),
    path("privacy/retention/preview/", api.RetentionPreviewView.as_view(), name="retention-preview"),
    path("privacy/retention/runs/", api.RetentionRunListView.as_view(), name="retention-runs"),
]
