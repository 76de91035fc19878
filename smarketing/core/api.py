"""API conventions shared by every app: pagination and one error format.

Every error body is

    {"error": {"code": "...", "message": "a sentence for a person", "fields": {"name": ["..."]}}}

whether it comes from DRF validation, authentication, or a refused lead action.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from smarketing.core.errors import ActionError

STATUS_BY_CODE = {
    ActionError.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    ActionError.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ActionError.STALE_VERSION: status.HTTP_409_CONFLICT,
    ActionError.WRONG_STAGE: status.HTTP_409_CONFLICT,
    ActionError.DUPLICATE: status.HTTP_409_CONFLICT,
    ActionError.CONFLICT: status.HTTP_422_UNPROCESSABLE_ENTITY,
}


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        """A page that is not a whole number from 1 is bad input (400); a page past the end
        is not found (404), saying which page is the last."""
        from rest_framework.exceptions import NotFound, ValidationError

        value = request.query_params.get(self.page_query_param, "1")
        if value != "last" and not (value.isdigit() and int(value) >= 1):
            raise ValidationError({self.page_query_param: ["A page is a whole number from 1."]})
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            page_size = self.get_page_size(request) or self.page_size
            count = queryset.count()
            last = max(1, -(-count // page_size))
            raise NotFound(f"There is no page {value}: the last page is {last}.") from None


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for name, value in detail.items():
            message = _first_message(value)
            return message if name in ("non_field_errors", "detail") else f"{name}: {message}"
        return "Invalid input."
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def _fields(detail) -> dict:
    if not isinstance(detail, dict):
        return {}
    return {
        name: [str(m) for m in (value if isinstance(value, list) else [value])]
        for name, value in detail.items()
        if name not in ("detail",)
    }


def error_body(code: str, message: str, fields: dict | None = None, **extra) -> dict:
    body = {"code": code, "message": message, "fields": fields or {}}
    body.update(extra)
    return {"error": body}


def exception_handler(exc, context):
    if isinstance(exc, ActionError):
        return Response(
            error_body(exc.code, exc.message, exc.fields, **exc.data),
            status=STATUS_BY_CODE.get(exc.code, status.HTTP_400_BAD_REQUEST),
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    code = exc.default_code if isinstance(exc, exceptions.APIException) else "error"
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    response.data = error_body(
        code, _first_message(detail), _fields(detail) if isinstance(exc, exceptions.ValidationError) else {}
    )
    return response
