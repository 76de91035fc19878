"""The API's text fields: text is a JSON string.

DRF's CharField (and the email, URL and slug fields built on it) takes `0` or `1.5` and
keeps "0"; the schema says string, so the API refuses a number or `true` like any other
value of the wrong type. Serializers use these fields (`strict.CharField(...)`) and
`strict.ModelSerializer`, whose model text columns map to them and whose foreign keys
are `IdField`s.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from smarketing.core.inputs import IdField


class StrictText:
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CharField(StrictText, serializers.CharField):
    pass


class EmailField(StrictText, serializers.EmailField):
    pass


class URLField(StrictText, serializers.URLField):
    pass


class SlugField(StrictText, serializers.SlugField):
    pass


class RegexField(StrictText, serializers.RegexField):
    pass


class DecimalField(serializers.DecimalField):
    """An amount: a JSON number, or a string of digits (`"1250.50"`). A number with more
    decimal places than the field keeps is rounded to them (half up), as a person would;
    a string must be written as the schema's pattern says. A string below the minimum is
    well-formed, so it is refused by rule (422); a number below it is malformed (400)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int | float):
            if isinstance(data, float) and not math.isfinite(data):
                self.fail("invalid")
            places = Decimal(1).scaleb(-(self.decimal_places or 0))
            try:
                data = Decimal(repr(data)).quantize(places, rounding=ROUND_HALF_UP)
            except InvalidOperation:  # too many digits to round: the max_digits check refuses it
                data = Decimal(repr(data))
        elif not (isinstance(data, str) and re.fullmatch(self.pattern(), data)):
            self.fail("invalid")
        return super().to_internal_value(data)

    def run_validation(self, data=serializers.empty):
        try:
            return super().run_validation(data)
        except serializers.ValidationError as exc:
            if isinstance(data, str) and set(_leaf_codes(exc.get_codes())) <= {"min_value", "max_value"}:
                details = [ErrorDetail(str(detail), code="rule") for detail in exc.detail]
                raise serializers.ValidationError(details) from None
            raise

    def pattern(self) -> str:
        whole = (self.max_digits or 30) - (self.decimal_places or 0)
        sign = "" if self.min_value is not None and self.min_value >= 0 else "-?"
        places = rf"(\.[0-9]{{1,{self.decimal_places}}})?" if self.decimal_places else ""
        return rf"{sign}[0-9]{{1,{whole}}}{places}"

    def bounds(self) -> dict:
        whole = (self.max_digits or 30) - (self.decimal_places or 0)
        top = float(10**whole - 1)
        return {
            "minimum": float(self.min_value) if self.min_value is not None else -top,
            "maximum": float(self.max_value) if self.max_value is not None else top,
        }


def _leaf_codes(codes):
    if isinstance(codes, dict):
        for value in codes.values():
            yield from _leaf_codes(value)
    elif isinstance(codes, list):
        for value in codes:
            yield from _leaf_codes(value)
    else:
        yield codes


class DecimalFieldSchema(OpenApiSerializerFieldExtension):
    """What `DecimalField` takes (a number within its bounds, or a digit string) and what it
    gives (a digit string)."""

    target_class = DecimalField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        text = {"type": "string", "format": "decimal", "pattern": f"^{field.pattern()}$"}
        if direction == "response":
            return text
        return {"anyOf": [{"type": "number", **field.bounds()}, text]}


# A character Python's strip() keeps, spelled out (\\x and \\u escapes, the same in Python's
# and ECMA's regular expressions): `\\S` differs between them (ECMA keeps \\x1c-\\x1f and \\x85,
# which strip() removes, and drops \\ufeff, which strip() keeps).
NOT_WHITESPACE = (
    "[^\\x09-\\x0d\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)


class StrictTextSchema(OpenApiSerializerFieldExtension):
    """A required text the server trims (DRF's default) is refused when only whitespace is
    left: the schema says so — it holds a character that strip() keeps (NOT_WHITESPACE) — so
    that `"\\f"` is not schema-valid."""

    target_class = StrictText
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        trims = getattr(field, "trim_whitespace", False) and not getattr(field, "allow_blank", True)
        if direction == "request" and trims and schema.get("type") == "string" and "pattern" not in schema:
            schema["pattern"] = NOT_WHITESPACE
        return schema


class ModelSerializer(serializers.ModelSerializer):
    serializer_related_field = IdField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: CharField,
        models.TextField: CharField,
        models.EmailField: EmailField,
        models.URLField: URLField,
        models.SlugField: SlugField,
        models.DecimalField: DecimalField,
    }
