"""The OpenAPI schema describes every endpoint without a guess (drf-spectacular warns
when it has to guess a type; CI fails on that)."""

from __future__ import annotations

import json

from django.core.management import call_command


def test_schema_validates_without_warnings(tmp_path, db):
    target = tmp_path / "schema.json"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(target)
    )
    paths = json.loads(target.read_text())["paths"]
    for path in ("/api/reports/dashboard/", "/api/reports/dashboard/{slug}/", "/api/reports/funnel-as-of/"):
        assert "get" in paths[path], path
    parameters = {p["name"]: p["schema"]["type"] for p in paths["/api/leads/"]["get"]["parameters"]}
    assert parameters["team"] == parameters["reason"] == "integer"
