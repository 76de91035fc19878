from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:lead_id>/act/<slug:action>/", views.lead_action, name="lead-action"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_read, name="inbox-read-all"),
    path("inbox/<int:notification_id>/read/", views.inbox_read, name="inbox-read"),
    path("handoffs/", views.my_handoffs, name="my-handoffs"),
    path("refer/", views.refer, name="refer"),
]
