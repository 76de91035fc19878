"""API conventions shared by every app: pagination and one error format.

Every error body is

    {"error": {"code": "...", "message": "a sentence for a person", "fields": {"name": ["..."]}}}

whether it comes from DRF validation, authentication, or a refused lead action.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from smarketing.core.errors import ActionError
from smarketing.core.inputs import ID_MAX, check_date, whole_number_in

STATUS_BY_CODE = {
    ActionError.MALFORMED: status.HTTP_400_BAD_REQUEST,
    ActionError.INVALID: status.HTTP_422_UNPROCESSABLE_ENTITY,
    ActionError.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    ActionError.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ActionError.STALE_VERSION: status.HTTP_409_CONFLICT,
    ActionError.WRONG_STAGE: status.HTTP_409_CONFLICT,
    ActionError.DUPLICATE: status.HTTP_409_CONFLICT,
    ActionError.CONFLICT: status.HTTP_422_UNPROCESSABLE_ENTITY,
}


def query_value(request, name: str, parse, **kwargs):
    """A query parameter through the parsing layer (`smarketing.core.inputs`): None when
    it is not given; given empty (`?week=`), it is malformed like any other bad value."""
    raw = request.query_params.get(name)
    return None if raw is None else parse(raw, name=name, **kwargs)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, where a filter given without a value (`?kind=`, where the
    schema wants a choice, a number or a date) is malformed input (django-filter would
    ignore it and answer everything)."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            # (Free text may be empty: `?q=` searches for everything.)
            empty = [
                name
                for name, field in filterset_class.base_filters.items()
                if not isinstance(field, django_filters.CharFilter)
                and "" in request.query_params.getlist(name)
            ]
            if empty:
                raise ActionError(
                    f"Give {', '.join(empty)} a value, or leave it out.",
                    fields={name: ["Give a value, or leave it out."] for name in empty},
                    code=ActionError.MALFORMED,
                )
        return super().filter_queryset(request, queryset, view)


def query_form(request, form_class, data=None):
    """An API view's parameters read with a Django form (`smarketing.core.schema.
    form_parameters` draws the schema from the same form), valid or a 400 naming each
    field. Query parameters given without a value are refused where the schema wants a
    choice or a number (`?source=`): a web form treats them as left out, an API client
    that sends one meant something (as `FilterBackend` does for filters). A date may be
    empty (the schema says so)."""
    if data is None:
        data = request.query_params
        empty = [
            name
            for name, field in form_class.base_fields.items()
            if isinstance(field, forms.ChoiceField | forms.IntegerField | forms.DecimalField)
            and "" in data.getlist(name)
        ]
        if empty:
            raise ActionError(
                f"Give {', '.join(empty)} a value, or leave it out.",
                fields={name: ["Give a value, or leave it out."] for name in empty},
                code=ActionError.MALFORMED,
            )
    form = form_class(data)
    if not form.is_valid():
        # With each error's code, so that a rule the form applies (the range can't end
        # after this week) is told apart from a malformed value (`error_body` below).
        raise exceptions.ValidationError(
            {
                name: [
                    exceptions.ErrorDetail(str(m), code=error.code or "rule")
                    for error in errors
                    for m in error
                ]
                for name, errors in form.errors.as_data().items()
            }
        )
    return form


class StrictPaging:
    """`page_size` (and `page`) are whole numbers from 1, as the schema says; anything else
    is a 400 naming the parameter (DRF would quietly use the default). A size past
    `max_page_size` gives `max_page_size` rows."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = whole_number_in(
            raw, name=self.page_size_query_param, minimum=1, message="A page size is a whole number from 1."
        )
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] in (getattr(self, "page_query_param", None), self.page_size_query_param):
                parameter["schema"].update(minimum=1, maximum=ID_MAX)
        return parameters


class Pagination(StrictPaging, PageNumberPagination):
    def paginate_queryset(self, queryset, request, view=None):
        """A page that is not a whole number from 1 is bad input (400); a page past the end
        is not found (404), saying which page is the last."""
        value = request.query_params.get(self.page_query_param, "1")
        if value != "last":
            whole_number_in(
                value, name=self.page_query_param, minimum=1, message="A page is a whole number from 1."
            )
        try:
            return super().paginate_queryset(queryset, request, view)
        except exceptions.NotFound:
            page_size = self.get_page_size(request) or self.page_size
            count = queryset.count()
            last = max(1, -(-count // page_size))
            raise exceptions.NotFound(f"There is no page {value}: the last page is {last}.") from None


class CursorPaging(StrictPaging, CursorPagination):
    """DRF's cursor paging, where a cursor this list did not give out — undecodable, or
    holding a position that is not a value of the sort field — is refused with a message
    (DRF answers an undocumented 404, or fails in the query). A cursor is any string to
    the schema, so it is refused by rule: 422."""

    invalid_cursor_message = "This cursor is not one this list gave out: start again from the first page."

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise ActionError(self.invalid_cursor_message, field=self.cursor_query_param) from None
        if cursor is not None and cursor.position is not None:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
            try:
                value = field.to_python(cursor.position)
                if isinstance(value, dt.date):
                    check_date(value if not isinstance(value, dt.datetime) else value.date())
            except (DjangoValidationError, ValueError, TypeError, OverflowError):
                raise ActionError(self.invalid_cursor_message, field=self.cursor_query_param) from None
        return cursor


# Validation codes of input that has the form the schema gives it but is refused by a rule
# (422): an id that names nothing, a value already taken, a date outside the years kept,
# a rule of the serializer's own (`code="rule"`), text the database can't store. Any
# other code is malformed input (400).
# Text with a NUL or a lone surrogate is a JSON string, but not one the database stores.
RULE_CODES = {
    "does_not_exist",
    "unique",
    "out_of_range",
    "rule",
    "null_characters_not_allowed",
    "surrogate_characters_not_allowed",
}


def _codes(codes) -> set[str]:
    if isinstance(codes, dict):
        return set().union(*(_codes(c) for c in codes.values())) if codes else set()
    if isinstance(codes, list):
        return set().union(*(_codes(c) for c in codes)) if codes else set()
    # No code: raised by a form's own clean() (a filter's "one drill-down at a time"),
    # which is a rule; Django's and DRF's type checks always name theirs.
    return {"rule" if codes is None else str(codes)}


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
    if isinstance(exc, exceptions.ParseError):
        code = ActionError.MALFORMED
    if isinstance(exc, exceptions.ValidationError):
        if _codes(exc.get_codes()) <= RULE_CODES:
            code, response.status_code = ActionError.INVALID, status.HTTP_422_UNPROCESSABLE_ENTITY
        else:
            code = ActionError.MALFORMED
    response.data = error_body(
        code, _first_message(detail), _fields(detail) if isinstance(exc, exceptions.ValidationError) else {}
    )
    return response
