"""Who the client is, and what a locked-out login attempt gets.

`client_ip` is the one answer to "which address is this request from", for login lockouts
(django-axes calls it) and rate limits (`ClientRateThrottle`): the address the outermost
trusted proxy saw, SMARKETING_TRUSTED_PROXIES entries back in X-Forwarded-For; with none
(the default), the connection's own address, whatever a client writes in that header.

A locked-out attempt gets, from the API, a JSON error in the project's format, and on a
page the login form with the reason. Status 429 either way."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from rest_framework.throttling import AnonRateThrottle

from smarketing.core.api import error_body


def client_ip(request) -> str:
    """The client's address (see the module's docstring)."""
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not settings.TRUSTED_PROXIES or not forwarded.strip():
        return remote
    addresses = [address.strip() for address in forwarded.split(",")]
    return addresses[-min(settings.TRUSTED_PROXIES, len(addresses))] or remote


class ClientRateThrottle(AnonRateThrottle):
    """DRF's anonymous rate limit, counted per `client_ip`."""

    def get_ident(self, request) -> str:
        return client_ip(request)


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
