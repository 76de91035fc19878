from django.urls import path

from smarketing.privacy import views

app_name = "privacy"

urlpatterns = [
    path("privacy/", views.home, name="home"),
    path("privacy/retention/run/", views.retention_run_now, name="retention-run"),
    path("privacy/people/<id:lead_id>/", views.person, name="person"),
    path("privacy/people/<id:lead_id>/export/", views.person_export, name="person-export"),
    path("privacy/people/<id:lead_id>/erase/", views.person_erase, name="person-erase"),
]
