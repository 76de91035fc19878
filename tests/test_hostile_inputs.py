"""Bad input never gives a 500 (issue 20, class 4).

Every API operation (from the OpenAPI schema) and every page (from the URL resolver) is
sent hostile values for each of its parameters and fields — Unicode digits, numbers past
64 bits, years 1 and 9999, cursors that decode to nonsense, JSON nested a hundred
thousand deep, wrong types — as an admin (who may reach every branch) and as a rep. Each
answer is a 4xx with a message a person can read, or an ordinary answer; never a 5xx.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from urllib.parse import quote

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from tests.test_permissions import _build_world, client_for

pytestmark = pytest.mark.django_db


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# Values a query or path parameter gets, one at a time.
HOSTILE = [
    "²",  # a Unicode digit: isdigit() says yes, int() says no
    "٣",  # an Arabic-Indic digit
    "99999999999999999999",  # past 64 bits
    "-1",
    "0",
    "1e309",
    "NaN",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:30:00",
    "2026-02-30",
    "",
    "\x00",
    "' OR 1=1 --",
    "[",
    "a" * 5000,
    _cursor(["not a date", 1]),
    _cursor([{"dt": "0001-01-01T00:00:00"}, 99999999999999999999]),
    "!!!not-base64!!!",
]
# Values a JSON body's field gets, one at a time, in an otherwise plausible body.
HOSTILE_JSON = [
    "²",
    99999999999999999999,
    -1,
    1e308,
    "0001-01-01T00:30:00",
    "9999-12-31",
    [],
    {},
    None,
    "a" * 5000,
    True,
]
# Query parameters any page might read.
PAGE_PARAMS = [
    "page",
    "cursor",
    "after",
    "q",
    "week",
    "week_to",
    "reason",
    "stage",
    "source",
    "campaign",
    "owner",
    "team",
    "sort",
    "as_of",
    "stage_then",
    "entered",
    "outcome",
    "sla",
    "clock_owner",
    "clock_team",
    "mql_version",
    "agreement_version",
    "score_min",
    "score_max",
    "created_from",
    "created_to",
    "date",
    "edit",
    "preview",
    "from",
    "to",
    "before",
    "number",
    "left",
    "right",
    "target",
    "weeks",
    "average_deal",
]
ROLES = ["admin", "rep"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer._from_testcase = True
        outer.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@functools.cache
def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _schema_operations():
    schema = _schema()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield pytest.param(path, method, operation, id=f"{method.upper()} {path}")


def _fill(path: str, world, value: str | None = None) -> str:
    """The path with each {parameter} set: an id of the world's, or `value`."""

    def one(match):
        if value is not None:
            return value
        name = match.group(1)
        return str(world.ids.get("plain", 1) if name in ("id", "pk") else 1)

    return re.sub(r"{(\w+)}", one, path)


def _problem(response, what: str) -> str | None:
    """What is wrong with this answer to hostile input, if anything."""
    if response.status_code >= 500:
        return f"{what}: {response.status_code}"
    if 400 <= response.status_code < 500 and response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
        if not message:
            return f"{what}: {response.status_code} without a message: {body}"
    return None


def _savepoint():
    block = transaction.atomic()
    block._from_testcase = True
    return block


@pytest.mark.parametrize("path,method,operation", list(_schema_operations()))
def test_every_api_operation_refuses_hostile_values_without_a_500(world, path, method, operation):
    parameters = [p for p in operation.get("parameters", []) if p["in"] in ("query", "path")]
    body_schema = (
        operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    )
    fields = []
    if body_schema:
        ref = body_schema.get("$ref", "").rsplit("/", 1)[-1]
        component = _schema()["components"]["schemas"].get(ref, {})
        fields = list(component.get("properties", {}))
    problems: list[str | None] = []
    for role in ROLES:
        client = _client(world, role)
        send = getattr(client, method)
        for parameter in parameters:
            for value in HOSTILE:
                with _savepoint():
                    if parameter["in"] == "path":
                        url = path.replace("{" + parameter["name"] + "}", quote(value, safe="") or "x")
                        url = _fill(url, world)
                        response = send(url, content_type="application/json")
                    else:
                        response = send(_fill(path, world) + "?" + _query(parameter["name"], value))
                    transaction.set_rollback(True)
                what = f"{method.upper()} {path} {parameter['name']}={value[:20]!r} as {role}"
                problems.append(_problem(response, what))
        if method in ("post", "put", "patch"):
            url = _fill(path, world)
            bodies = ["[" * 100_000, "{", '{"a": ' * 5000, json.dumps([1, 2])]
            bodies += [json.dumps({name: value}) for name in fields for value in HOSTILE_JSON]
            for body in bodies:
                with _savepoint():
                    response = send(url, body, content_type="application/json")
                    transaction.set_rollback(True)
                problems.append(_problem(response, f"{method.upper()} {path} body {body[:40]!r} as {role}"))
    _none_of(problems)


def _none_of(problems: list[str | None]) -> None:
    found = sorted({p for p in problems if p})
    assert found == [], f"{len(found)} answers:\n" + "\n".join(found[:40])


def _query(name: str, value: str) -> str:
    return f"{quote(name)}={quote(value)}"


def _pages():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if not route.startswith(("api/", "admin/")):
                    yield route

    return sorted(set(walk(get_resolver().url_patterns)))


# A view that reads its parameters one after another may stop at the first bad one, so
# each parameter is also sent alone with the value that fooled `isdigit()`.
ALONE = "²"


def _client(world, role):
    client = client_for(world, role)
    client.raise_request_exception = False  # a 500 is an answer to record, not a crash
    return client


@pytest.mark.parametrize("route", _pages())
def test_every_page_refuses_hostile_values_without_a_500(world, route):
    problems: list[str | None] = []
    for role in ROLES:
        client = _client(world, role)
        path, *odd_paths = (re.sub(r"<(\w+:)?\w+>", v, route) for v in ("1", "99999999999999999999", "0"))
        for value in HOSTILE:
            with _savepoint():
                response = client.get(f"/{path}?" + "&".join(_query(name, value) for name in PAGE_PARAMS))
                transaction.set_rollback(True)
            problems.append(_problem(response, f"GET /{path} every param={value[:20]!r} as {role}"))
            with _savepoint():
                response = client.post(f"/{path}", dict.fromkeys(PAGE_PARAMS, value))
                transaction.set_rollback(True)
            problems.append(_problem(response, f"POST /{path} every field={value[:20]!r} as {role}"))
        for odd in odd_paths if odd_paths[0] != path else []:
            for method in (client.get, client.post):
                with _savepoint():
                    response = method(f"/{odd}")
                    transaction.set_rollback(True)
                problems.append(_problem(response, f"{method.__name__.upper()} /{odd} as {role}"))
        for name in PAGE_PARAMS if role == "admin" else []:  # the admin reaches every branch
            with _savepoint():
                response = client.get(f"/{path}?{_query(name, ALONE)}")
                transaction.set_rollback(True)
            problems.append(_problem(response, f"GET /{path} {name}={ALONE!r} as {role}"))
    _none_of(problems)
