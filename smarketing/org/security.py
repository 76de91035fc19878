"""What a locked-out login attempt gets (django-axes calls this): the API a JSON error in
the project's format, a page the login form with the reason. Status 429 either way."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from smarketing.core.api import error_body


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many wrong passwords for this username: logging in is blocked for {minutes} minutes. "
        "Ask an admin if you have forgotten your password."
    )


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("locked_out", lockout_message()), status=429)
    return render(request, "registration/login.html", {"locked_out": lockout_message()}, status=429)
