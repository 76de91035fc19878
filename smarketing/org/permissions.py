"""DRF permission classes from the roles (smarketing.org.roles): checked before a view
reads the request's body, so a refused person learns nothing from its validation. A
refusal is the one domain error (`ActionError`, code "forbidden"), as the services'."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, IsAuthenticated

from smarketing.core.errors import ActionError
from smarketing.org.roles import can_edit_agreement, has_product_role


def handles(view, method: str) -> bool:
    """Whether the view answers `method` at all (else DRF answers 405, for everyone)."""
    method = method.lower()
    return method in view.http_method_names and hasattr(view, method)


class HasProductRole(IsAuthenticated):
    """Marketing's and sales' work queues (clocks, the recycled queue, hand-offs): for a
    Marketer, Sales rep, Manager or Admin; any other employee refers leads and reads where
    they are, on the leads API."""

    message = "Only marketing, sales and managers see this."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False  # 401: who is it?
        if not has_product_role(request.user):
            raise ActionError(self.message, code=ActionError.FORBIDDEN)
        return True


class ManagerWrites(IsAuthenticated):
    """Everyone signed in reads; only managers (and admins) change the agreement — refused
    with 403 before the body is looked at, in the words the view's service would use
    (`manager_refusal` on the view). A method the view does not have still answers 405.
    The services check again."""

    message = "Only a manager can change the agreement."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS or not handles(view, request.method):
            return True
        if can_edit_agreement(request.user):
            return True
        raise ActionError(getattr(view, "manager_refusal", self.message), code=ActionError.FORBIDDEN)
