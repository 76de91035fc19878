"""Marketing's list pages and endpoints run a constant number of queries, whatever their length."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from leads import services
from smarketing.agreement import scoring
from smarketing.agreement import services as agreement
from smarketing.intake import imports


@pytest.fixture
def many(org, settings, tmp_path):

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


# --- the lead list and the lead page at scale: each served by an index ---------------------------


def _plan(queryset) -> str:
    """PostgreSQL's plan for `queryset` with sequential scans priced out: an index that
    can serve the query shows up even on a test database of a few rows."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_search_and_timeline_are_served_by_indexes(org):
    from django.db import connection

    from leads import selectors
    from leads.models import Lead, SearchText
    from tests.factories import LeadFactory

    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    lead = LeadFactory(first_name="Ida", last_name="Indexed", company="Globex Labs")
    other = LeadFactory(first_name="Ida", last_name="Other")
    services.lead_merge(survivor_id=lead.pk, other_id=other.pk, actor=org.marketer)
    # The search's probe: several words, one scan of the trigram index (migration 0016),
    # which must cover exactly the expression the search compares.
    probe = Lead.objects.alias(search_text=SearchText()).filter(search_text__icontains="globex")
    probe = probe.filter(search_text__icontains="LABS")
    plan = _plan(probe.order_by().values("pk"))
    assert "lead_search_trgm" in plan and "Seq Scan on leads_lead" not in plan, plan
    assert list(Lead.objects.search("globex LABS ida")) == [lead]
    # The timeline reads the events of the lead and of the leads merged into it by lead id.
    plan = _plan(selectors.lead_timeline(lead))
    assert "Seq Scan on leads_leadevent" not in plan, plan
    assert other.pk in {event.lead_id for event in selectors.lead_timeline(lead)}


@pytest.mark.parametrize("rows", [2, 12])
def test_search_page_runs_two_queries_a_word_whatever_the_rows(
    client, org, rows, monkeypatch, django_assert_max_num_queries
):
    from smarketing.org.models import Campaign, EngagementType
    from tests.factories import LeadFactory

    campaign = Campaign.objects.create(name="Globex launch")
    for n in range(rows):
        lead = LeadFactory(email=f"g{n}@globex.example", company="Globex Labs", campaign=campaign)
        services.engagement_log(
            lead_id=lead.pk, actor=org.marketer, type=EngagementType.FORM_SUBMIT, title="Globex form"
        )
    monkeypatch.setattr("leads.models.SEARCH_FEW_ENGAGEMENTS", 5)  # 12 rows take the EXISTS branch
    client.force_login(org.rep)
    # The page's own queries (see test_list_page_query_count_is_constant), per word its
    # campaigns and engagement titles, and the probe (on PostgreSQL after the planner's
    # estimate, in a savepoint with its planner settings).
    from django.db import connection

    probe = 6 if connection.vendor == "postgresql" else 1
    with django_assert_max_num_queries(15 + 2 * 3 + probe):
        response = client.get("/leads/", {"q": "globex labs g", "sort": "name"})
    assert response.status_code == 200 and response.content.decode().count('href="/leads/') >= rows
