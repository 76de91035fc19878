"""Response headers every page carries."""

from __future__ import annotations

from django.conf import settings


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
