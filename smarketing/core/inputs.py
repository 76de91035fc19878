"""Form fields that refuse what the database or the calendar cannot take, with a clear
message, instead of failing deep in a query (an id beyond 64 bits, the year 1)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

ID_MAX = 2**63 - 1  # the largest id a 64-bit integer column holds
FIRST_YEAR, LAST_YEAR = 1900, 2200


def check_date(value: dt.date | None) -> dt.date | None:
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(f"Choose a date between {FIRST_YEAR} and {LAST_YEAR}.", code="out_of_range")
    return value


def check_id(value: int | None) -> int | None:
    if value is not None and not 0 < value <= ID_MAX:
        raise ValidationError("No such id.", code="out_of_range")
    return value


class BoundedDateField(forms.DateField):
    def to_python(self, value):
        return check_date(super().to_python(value))


class IdChoiceField(django_filters.fields.ModelChoiceField):
    def to_python(self, value):
        if value not in self.empty_values and str(value).lstrip("-").isdigit():
            try:
                check_id(int(value))
            except ValidationError:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
                ) from None
        return super().to_python(value)


class DateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.ModelChoiceFilter):
    """A model chosen by its id (so the OpenAPI schema says integer)."""

    field_class = IdChoiceField


def id_number_filter(**kwargs) -> django_filters.NumberFilter:
    """A filter on a user or lead id: whole, positive, within 64 bits."""
    return django_filters.NumberFilter(min_value=1, max_value=ID_MAX, **kwargs)
