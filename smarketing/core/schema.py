"""The API's error answers, in the OpenAPI schema and at addresses no view serves; the
query parameters of views that read them with a Django form.

Every error the API gives has one shape (`smarketing.core.api.error_body`):
`{"error": {"code": …, "message": …, "fields": {…}}}`. The hook below documents it on every
operation for the statuses that operation can answer with, so a client — and the fuzzing
run in CI — can rely on the schema for errors too.
"""

from __future__ import annotations

from django import forms
from django.http import JsonResponse
from django.views.defaults import page_not_found, server_error
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter

from smarketing.core.api import error_body
from smarketing.core.inputs import FIRST_YEAR, ID_MAX, ID_SCHEMA, LAST_YEAR

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "What kind of refusal (forbidden, not_found, …)."},
                "message": {"type": "string", "description": "What went wrong, for a person."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "The message of each field that was refused.",
                },
            },
            "required": ["code", "message", "fields"],
            "additionalProperties": True,
        }
    },
    "required": ["error"],
}
WHY = {
    "400": "The input was refused; `fields` says why for each field.",
    "401": "Not logged in, or the token is wrong or revoked.",
    "403": "Logged in, but not allowed to do this.",
    "404": "No such object (at this address, or one the request names).",
    "409": "The object changed meanwhile, or is in a stage where this can't be done.",
    "422": "Well formed, but it can't be done as things stand (the message says why).",
    "429": "Too many requests, or too many wrong passwords: try again later.",
}
WRITES = {"post", "put", "patch", "delete"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, where a request body whose serializer refuses fields it does not
    know (`refuses_unknown_fields`) says so: `additionalProperties: false`."""

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False
        return schema


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error answers of every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in WRITES | {"get"}:
                continue
            codes = {"401", "403", "429"}
            if "{" in path:
                codes.add("404")
            if method in WRITES:
                codes |= {"400", "404", "409", "422"}  # 404: an object the body names is gone
            query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            if query:
                codes |= {"400", "422"}  # malformed, or refused by a rule (a range too long)
            if "page" in query:
                codes.add("404")  # a page past the last
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(
                    code,
                    {
                        "description": WHY[code],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result


def not_found(request, exception=None):
    """404: JSON in the API's error shape under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "There is nothing at this address."), status=404)
    return page_not_found(request, exception)


def failed(request):
    """500: JSON under /api/ (the error is logged; the client gets no detail)."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return server_error(request)


def form_parameters(form_class, descriptions: dict[str, str] | None = None) -> list:
    """The query parameters of an API view that reads them with a Django form, drawn from
    the form's own fields — types, choices, bounds, required — so that the schema says
    what the form enforces, and no more."""
    descriptions = descriptions or {}
    parameters = []
    for name, field in form_class.base_fields.items():
        description = descriptions.get(name) or str(field.help_text or field.label or "")
        parameters.append(
            OpenApiParameter(name, form_field_schema(field), required=field.required, description=description)
        )
    return parameters


# Every date the API reads is between FIRST_YEAR and LAST_YEAR (smarketing.core.inputs):
# the schema says so, as a pattern on the year, so that a client (or a fuzzer) reading it
# does not send a year the server refuses.
assert (FIRST_YEAR, LAST_YEAR) == (1900, 2200), "update YEAR_PATTERN"
YEAR_PATTERN = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-"
# A query parameter left empty (`?week=`) is one not given, as in a web form.
QUERY_YEAR_PATTERN = "^$|" + YEAR_PATTERN


def bound_dates(result, generator, request, public):
    """drf-spectacular postprocessing hook: every date and date-time string in the schema,
    request and response alike, carries the year bound as a pattern (a query parameter's
    also allows it empty)."""

    def walk(node, pattern):
        if isinstance(node, dict):
            if node.get("type") == "string" and node.get("format") in ("date", "date-time"):
                node.setdefault("pattern", pattern)
            for value in node.values():
                walk(value, pattern)
        elif isinstance(node, list):
            for value in node:
                walk(value, pattern)

    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "query":
                        walk(parameter.get("schema", {}), QUERY_YEAR_PATTERN)
    walk(result, YEAR_PATTERN)
    return result


def form_field_schema(field) -> dict:
    if isinstance(field, forms.ModelChoiceField):
        return dict(ID_SCHEMA)
    if isinstance(field, forms.ChoiceField):
        return {"type": "string", "enum": [str(value) for value, _ in field.choices if value != ""]}
    if isinstance(field, forms.DateField):
        return {"type": "string", "format": "date"}
    if isinstance(field, forms.IntegerField):
        schema = {"type": "integer", "minimum": -ID_MAX, "maximum": ID_MAX}
    elif isinstance(field, forms.DecimalField):
        schema = {"type": "number"}
        if field.max_digits is not None:
            whole = field.max_digits - (field.decimal_places or 0)
            schema["maximum"] = float(10**whole - 1)
            schema["minimum"] = -schema["maximum"]
    else:
        return {"type": "string"}
    if field.min_value is not None:
        schema["minimum"] = float(field.min_value) if schema["type"] == "number" else field.min_value
    if field.max_value is not None:
        schema["maximum"] = float(field.max_value) if schema["type"] == "number" else field.max_value
    return schema


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: OpenAPI links from each collection to the
    operations on one of its items — from the list (its first row's id) and from the
    create (the new row's id) — so that a client, and the stateful fuzzing run in CI, can
    follow the API from what it lists to what it acts on."""
    paths = result.get("paths", {})
    components = result.get("components", {}).get("schemas", {})
    for path, operations in paths.items():
        segments = path.strip("/").split("/")
        positions = [i for i, segment in enumerate(segments) if segment.startswith("{")]
        if not positions:
            continue
        last = positions[-1]
        name = segments[last][1:-1]
        collection = "/" + "/".join(segments[:last]) + "/"
        outer = [segments[i][1:-1] for i in positions[:-1]]
        for source_method, source_code in (("get", "200"), ("post", "201")):
            source = paths.get(collection, {}).get(source_method)
            response = (source or {}).get("responses", {}).get(source_code)
            pointer = _id_pointer(_response_schema(response, components), name, components)
            if pointer is None:
                continue
            links = response.setdefault("links", {})
            for method, operation in operations.items():
                if method not in WRITES | {"get"} or "operationId" not in operation:
                    continue
                parameters = {name: f"$response.body#{pointer}"}
                parameters.update({outer_name: f"$request.path.{outer_name}" for outer_name in outer})
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": parameters,
                    "description": f"{method.upper()} {path} with the {name} given here.",
                }
    return result


def _resolve(schema: dict | None, components: dict) -> dict:
    while schema and "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema or {}


def _response_schema(response: dict | None, components: dict) -> dict:
    content = (response or {}).get("content", {}).get("application/json", {})
    return _resolve(content.get("schema"), components)


def _id_pointer(schema: dict, name: str, components: dict) -> str | None:
    """A JSON pointer into a response with `schema` to a value for the path parameter
    `name`: the row's own field, or the first row's of a list in it."""
    fields = [name, name.removesuffix("_id"), "id"]

    def field_of(item: dict) -> str | None:
        properties = _resolve(item, components).get("properties", {})
        return next((f for f in fields if f in properties), None)

    if schema.get("type") == "array":
        found = field_of(schema.get("items", {}))
        return f"/0/{found}" if found else None
    found = field_of(schema)
    if found:
        return f"/{found}"
    for key, value in schema.get("properties", {}).items():
        value = _resolve(value, components)
        if value.get("type") == "array":
            found = field_of(value.get("items", {}))
            if found:
                return f"/{key}/0/{found}"
    return None
