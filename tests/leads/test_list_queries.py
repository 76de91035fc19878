"""Marketing's list pages and endpoints run a constant number of queries, whatever their length."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from leads import agreement, imports, scoring


@pytest.fixture
def many(org, settings, tmp_path):
    settings.SMARKETING_IMPORT_DIR = tmp_path

    def make(n: int) -> None:
        for i in range(n):
            imports.import_upload(
                actor=org.marketer, uploaded=SimpleUploadedFile(f"f{i}.csv", b"Email\na@b.io\n")
            )
            scoring.scoring_rule_save(
                actor=org.sales_manager,
                kind="engagement",
                label=f"R{i}",
                engagement_type="page_view",
                points=i,
            )
            agreement.routing_rule_save(
                actor=org.sales_manager, name=f"Route {i}", countries="DE", team=org.sales
            )

    return make


@pytest.mark.parametrize("rows", [2, 12])
@pytest.mark.parametrize(
    "path, limit",
    [
        ("/imports/", 8),
        ("/agreement/scoring/", 16),
        ("/agreement/routing/", 13),
        ("/agreement/inbound/", 10),
        ("/api/imports/", 4),
        ("/api/scoring/", 4),
        ("/api/scoring/rules/", 4),
        ("/api/routing/rules/", 4),
    ],
)
def test_constant_queries(client, org, many, rows, path, limit, django_assert_max_num_queries):
    many(rows)
    if path.startswith("/api/"):
        client = APIClient()
        client.force_authenticate(org.marketer)
    else:
        client.force_login(org.marketing_manager)
    with django_assert_max_num_queries(limit):
        response = client.get(path)
    assert response.status_code == 200
    body = response.content.decode()
    assert "R1" in body or "Route 1" in body or "f1.csv" in body or path == "/agreement/inbound/"
