from django.urls import path

from smarketing.notifications import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_read, name="inbox-read-all"),
    path("inbox/<id:notification_id>/read/", views.inbox_read, name="inbox-read"),
]
