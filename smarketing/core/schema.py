"""The API's error answers, in the OpenAPI schema and at addresses no view serves.

Every error the API gives has one shape (`smarketing.core.api.error_body`):
`{"error": {"code": …, "message": …, "fields": {…}}}`. The hook below documents it on every
operation for the statuses that operation can answer with, so a client — and the fuzzing
run in CI — can rely on the schema for errors too.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.defaults import page_not_found, server_error

from smarketing.core.api import error_body

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
    "404": "No such object.",
    "409": "The object changed meanwhile, or is in a stage where this can't be done.",
    "422": "Well formed, but it can't be done as things stand (the message says why).",
    "429": "Too many requests, or too many wrong passwords: try again later.",
}
WRITES = {"post", "put", "patch", "delete"}


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
                codes |= {"400", "409", "422"}
            query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            if query:
                codes.add("400")
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
