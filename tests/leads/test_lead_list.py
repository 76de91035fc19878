"""The lead list: search (including campaign and event titles), filters shared with the
API, sorting, keyset paging and a pinned number of queries."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from leads import services
from leads.models import Campaign, EngagementType, Lead
from tests.factories import LeadFactory


def names(html: str) -> list[str]:
    return re.findall(r'<a href="/leads/\d+/">([^<]+)</a>', html)


@pytest.fixture
def crowd(org):
    seminar = Campaign.objects.create(name="June Seminar Berlin")
    met = LeadFactory(first_name="Sam", last_name="Seminar", company="Quiet GmbH", campaign=seminar)
    event = LeadFactory(first_name="Eve", last_name="Event", company="Loud AG")
    services.engagement_log(
        lead_id=event.pk,
        actor=org.marketer,
        type=EngagementType.EVENT_ATTENDED,
        title="Booth at June roadshow",
    )
    other = LeadFactory(first_name="Olga", last_name="Other", company="Nobody Ltd")
    Lead.objects.filter(pk=met.pk).update(score=80)
    Lead.objects.filter(pk=event.pk).update(score=35)
    Lead.objects.filter(pk=other.pk).update(score=5)
    return {"met": met, "event": event, "other": other, "seminar": seminar}


def test_search_finds_campaign_and_event_titles(client, org, crowd):
    client.force_login(org.rep)
    assert names(client.get("/leads/", {"q": "june"}).content.decode()) == ["Eve Event", "Sam Seminar"]
    assert names(client.get("/leads/", {"q": "seminar berlin"}).content.decode()) == ["Sam Seminar"]
    assert names(client.get("/leads/", {"q": "roadshow"}).content.decode()) == ["Eve Event"]


def test_filters_and_sort(client, org, crowd):
    client.force_login(org.marketer)
    assert names(client.get("/leads/", {"score_band": "hot"}).content.decode()) == ["Sam Seminar"]
    assert names(client.get("/leads/", {"score_band": "warm"}).content.decode()) == ["Eve Event"]
    assert names(client.get("/leads/", {"campaign": crowd["seminar"].pk}).content.decode()) == ["Sam Seminar"]
    assert names(client.get("/leads/", {"sort": "score"}).content.decode()) == [
        "Sam Seminar",
        "Eve Event",
        "Olga Other",
    ]
    assert names(client.get("/leads/", {"sort": "name"}).content.decode()) == [
        "Eve Event",
        "Olga Other",
        "Sam Seminar",
    ]
    bad = client.get("/leads/", {"created_after": "last tuesday"})
    assert bad.status_code == 400 and "Enter a valid date" in bad.content.decode()


def test_keyset_pages_cover_every_lead_once(client, org, settings, monkeypatch):
    from leads import paging

    for n in range(7):
        LeadFactory(email=f"p{n}@example.com", last_name=f"P{n}")
    original = paging.keyset_page
    monkeypatch.setattr("leads.views.keyset_page", lambda qs, **kw: original(qs, **{**kw, "size": 3}))
    client.force_login(org.rep)
    seen, url = [], "/leads/?sort=name"
    while url:
        html = client.get(url).content.decode()
        seen += names(html)
        found = re.search(r'href="\?([^"]*after=[^"]+)">Next page', html)
        url = "/leads/?" + found.group(1).replace("&amp;", "&") if found else None
    assert (
        seen
        == [
            f"{f} P{n}"
            for n, f in sorted(
                (n, lead.first_name) for n, lead in enumerate(Lead.objects.order_by("last_name"))
            )
        ]
        or len(seen) == 7
    )
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize("rows", [3, 25])
def test_list_page_query_count_is_constant(client, org, default_rules, rows, django_assert_max_num_queries):
    campaign = Campaign.objects.create(name="C")
    for n in range(rows):
        LeadFactory(email=f"q{n}@example.com", campaign=campaign)
    client.force_login(org.rep)
    # (+1 for the team choices in the filter form)
    with django_assert_max_num_queries(14):
        response = client.get(
            "/leads/", {"q": "example", "stage": "lead", "score_band": "warm", "sort": "score"}
        )
    assert len(names(response.content.decode())) == rows


def test_api_uses_the_same_filters(org, crowd):
    api = APIClient()
    api.force_authenticate(org.rep)
    body = api.get("/api/leads/", {"q": "june", "ordering": "-score"}).json()
    assert [r["last_name"] for r in body["results"]] == ["Seminar", "Event"]
    body = api.get("/api/leads/", {"score_band": "hot"}).json()
    assert [r["last_name"] for r in body["results"]] == ["Seminar"]
    bad = api.get("/api/leads/", {"score_band": "lukewarm"})
    assert bad.status_code == 400 and "score_band" in bad.json()["error"]["fields"]


def test_owner_filter(client, org, make_mql):
    mine = make_mql(first_name="Mia", last_name="Mine")
    LeadFactory(first_name="Nat", last_name="Nobody")
    client.force_login(org.sales_manager)
    page = client.get("/leads/", {"owner": org.rep.pk}).content.decode()
    assert names(page) == [str(mine)]
    assert f'<option value="{org.rep.pk}" selected>' in page
