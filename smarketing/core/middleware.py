"""What every page gets: its response headers, and a refusal page for refused input."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render

from smarketing.core.errors import ActionError
from smarketing.core.pages import refusal_status


class ContentSecurityPolicyMiddleware:
    """Sends settings.CONTENT_SECURITY_POLICY (production: scripts, styles and everything
    else only from the site itself, nothing inline, no framing) as the
    Content-Security-Policy header, unless a view set one of its own. Nothing when unset."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response


class RefusalMiddleware:
    """A page whose input is refused (`ActionError` from the parsing layer or a service,
    not caught by the view) answers with the refusal page — its message, and the status
    the API would give (400 for bad input) — instead of a server error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ActionError):
            return None
        status = refusal_status(exception)
        heading = "That can't be used here" if status == 400 else None
        context = {"message": exception.message, "heading": heading}
        return render(request, "core/refused.html", context, status=status)
