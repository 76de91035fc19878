"""The floor of the API benchmark: a bare Django view returning a constant JSON, served by
the same gunicorn, settings and middleware as the API. Whatever the API does beyond this
view is the API's own cost. The project's URLs are included unchanged."""

from django.http import JsonResponse
from django.urls import include, path

from smarketing.urls import handler404, handler500  # noqa: F401 - the project's error pages

FLOOR_PATH = "bench/floor/"
FLOOR_BODY = {"id": 1, "email": "floor@example.com", "stage": "lead", "score": 0}


def floor(request):
    return JsonResponse(FLOOR_BODY)


urlpatterns = [
    path(FLOOR_PATH, floor, name="bench-floor"),
    path("", include("smarketing.urls")),
]
