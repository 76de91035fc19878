"""The one parsing layer for scalars from the outside — ids, whole numbers, decimals,
dates, date-times — with bounds and a clear message, instead of failing deep in a query
(an id beyond 64 bits, the year 1, a Unicode digit that `isdigit()` passes and `int()`
refuses).

Pages and views call the `*_in` functions on a query or form value: each returns the
value or raises `ActionError` naming the field (an API answers it as a 400, a page as its
message). Form, filter and serializer fields below apply the same bounds.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smarketing.core.errors import ActionError

ID_MAX = 2**63 - 1  # the largest id a 64-bit integer column holds
FIRST_YEAR, LAST_YEAR = 1900, 2200
_WHOLE = re.compile(r"[+-]?[0-9]{1,19}\Z")  # ASCII digits only
_DECIMAL = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{1,6})?\Z")
DATE_HELP = f"Use a date like 2026-11-16, between {FIRST_YEAR} and {LAST_YEAR}."
DATETIME_HELP = f"Use a date and time like 2026-11-27T16:30, between {FIRST_YEAR} and {LAST_YEAR}."


def whole_number_in(
    text: str | None, *, name: str, minimum: int = 0, maximum: int = ID_MAX, message: str = ""
) -> int:
    """A whole number written in ASCII digits, from `minimum` to `maximum`."""
    text = (text or "").strip()
    if _WHOLE.match(text) and minimum <= int(text) <= maximum:
        return int(text)
    raise ActionError(
        message or f"Use a whole number from {minimum} to {maximum}.", field=name, code=ActionError.MALFORMED
    )


def id_in(text: str | None, *, name: str, message: str = "") -> int:
    """A row's id: a whole number from 1 that a 64-bit column holds."""
    return whole_number_in(text, name=name, minimum=1, message=message or f"“{name}” takes an id.")


def decimal_in(text: str | None, *, name: str, minimum: Decimal = Decimal(0), message: str = "") -> Decimal:
    text = (text or "").strip()
    if _DECIMAL.match(text):
        try:
            value = Decimal(text)
        except InvalidOperation:  # pragma: no cover — the pattern admits only what Decimal reads
            value = None
        if value is not None and value >= minimum:
            return value
    raise ActionError(
        message or f"Use a number from {minimum}, like 12.50.", field=name, code=ActionError.MALFORMED
    )


def date_in(text: str | None, *, name: str, message: str = "") -> dt.date:
    """An ISO date (2026-11-16) between FIRST_YEAR and LAST_YEAR."""
    try:
        value = dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise ActionError(message or DATE_HELP, field=name, code=ActionError.MALFORMED) from None
    try:
        return check_date(value)
    except ValidationError:  # a date, but not one the product keeps
        raise ActionError(message or DATE_HELP, field=name) from None


def datetime_in(text: str | None, *, name: str, message: str = "") -> dt.datetime:
    """An ISO date-time, in the organisation's zone when it names none, between FIRST_YEAR
    and LAST_YEAR (so that no zone arithmetic runs off the calendar)."""
    try:
        value = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ActionError(message or DATETIME_HELP, field=name, code=ActionError.MALFORMED) from None
    try:
        check_date(value.date())
    except ValidationError:  # a date-time, but not one the product keeps
        raise ActionError(message or DATETIME_HELP, field=name) from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def optional(parse, text: str | None, **kwargs):
    """`parse(text)`, or None when nothing was given."""
    return None if text is None or not str(text).strip() else parse(text, **kwargs)


def check_date(value: dt.date | None) -> dt.date | None:
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(f"Choose a date between {FIRST_YEAR} and {LAST_YEAR}.", code="out_of_range")
    return value


def check_id(value: int | None) -> int | None:
    if value is not None and not 0 < value <= ID_MAX:
        raise ValidationError("No such id.", code="out_of_range")
    return value


class RoundedDecimalField(forms.DecimalField):
    """A form's amount, rounded (half up) to the places it keeps before it is checked:
    12.345 is 12.35, as a person would write it, not an error."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or self.decimal_places is None or not value.is_finite():
            return value
        try:
            return value.quantize(Decimal(1).scaleb(-self.decimal_places), rounding=ROUND_HALF_UP)
        except InvalidOperation:  # too many digits to round: the max_digits check refuses it
            return value


class BoundedDateField(forms.DateField):
    def to_python(self, value):
        return check_date(super().to_python(value))


class IdChoiceField(django_filters.fields.ModelChoiceField):
    def to_python(self, value):
        if getattr(self, "null_label", None) is not None and value == self.null_value:
            return super().to_python(value)  # "null": the rows without one
        if value not in self.empty_values:
            text = str(value).strip()
            if not (_WHOLE.match(text) and 0 < int(text) <= ID_MAX):
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
                )
        try:
            return super().to_python(value)
        except ValidationError as exc:  # a well-formed id that names nothing
            raise ValidationError(exc.messages[0], code="does_not_exist") from None


class DateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


class YesNoField(forms.Field):
    """true, false or nothing (any): anything else is malformed, not silently "any"
    (django-filter's own boolean field reads `?recycled=-515` as no filter at all)."""

    default_error_messages = {"invalid": "Use true or false, or leave it empty for any."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class YesNoWidget(django_filters.widgets.BooleanWidget):
    """Yes / No / Any, sent as true / false / empty; any other text reaches the field as it
    came, which refuses it."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if isinstance(value, str):
            value = value.strip()
            return {"true": True, "false": False}.get(value.lower(), value)
        return value


@extend_schema_field({"type": "boolean"})
class YesNoFilter(django_filters.BooleanFilter):
    field_class = YesNoField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", YesNoWidget())
        super().__init__(*args, **kwargs)


ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": ID_MAX}


@extend_schema_field(ID_SCHEMA)
class IdFilter(django_filters.ModelChoiceFilter):
    """A model chosen by its id (so the OpenAPI schema says integer)."""

    field_class = IdChoiceField


@extend_schema_field(ID_SCHEMA)
class IdNumberFilter(django_filters.NumberFilter):
    """A filter on a user or lead id: whole, positive, within 64 bits (an id that names
    nobody matches nothing)."""

    field_class = forms.IntegerField


def whole_number_filter(minimum: int, maximum: int, **kwargs) -> django_filters.NumberFilter:
    """A filter on a whole number from `minimum` to `maximum`, bounds the schema states."""

    @extend_schema_field({"type": "integer", "minimum": minimum, "maximum": maximum})
    class WholeNumberFilter(django_filters.NumberFilter):
        field_class = forms.IntegerField

    return WholeNumberFilter(min_value=minimum, max_value=maximum, **kwargs)


def id_number_filter(**kwargs) -> IdNumberFilter:
    return IdNumberFilter(min_value=1, max_value=ID_MAX, **kwargs)


@extend_schema_field(ID_SCHEMA)
class IdField(serializers.PrimaryKeyRelatedField):
    """An API field naming a row by its id: the schema says a whole number from 1 within
    64 bits (anything else is malformed, 400); a well-formed id that names nothing is
    refused by rule (422)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (
            (isinstance(data, int) and 0 < data <= ID_MAX)
            or (isinstance(data, str) and _WHOLE.match(data) and 0 < int(data) <= ID_MAX)
        ):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class BoundedDateSerializerField(serializers.DateField):
    """An API date between FIRST_YEAR and LAST_YEAR."""

    def to_internal_value(self, value):
        return _bounded(super().to_internal_value(value), self)


class BoundedDateTimeSerializerField(serializers.DateTimeField):
    """An API date-time between FIRST_YEAR and LAST_YEAR: the year is checked before the
    zone is applied, so `0001-01-01T00:30:00` is a clear 400 and not an overflow."""

    def enforce_timezone(self, value):
        _bounded(value.date(), self)
        return super().enforce_timezone(value)


def _bounded(value: dt.date, field):
    try:
        check_date(value)
    except ValidationError as exc:
        raise serializers.ValidationError(exc.messages[0], code="out_of_range") from None
    return value


class StrictFilterSet(django_filters.FilterSet):
    """The project's FilterSets start here: a model's yes/no field is a YesNoFilter, which
    refuses what is neither true nor false (tests/test_hostile_examples.py checks that every
    FilterSet does)."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": YesNoFilter},
        models.NullBooleanField: {"filter_class": YesNoFilter},
    }
