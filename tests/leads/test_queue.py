"""Marketing's work queue (issue 22, the marketer's day): new leads, referrals and leads
sales sent back, each a tab with its true count, paged with no silent cap; `/recycled/`
is its recycled tab; `GET /api/queue/?kind=…` lists the same leads."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from leads import selectors, services
from leads.selectors import NEW_LEAD_DAYS, queue_counts
from smarketing.org.models import Source
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, make_lead, make_mql, reasons):
    """One lead of each kind, and some that are in no list."""
    w = {}
    w["new"] = LeadFactory(first_name="Nell", last_name="Newlead", source=Source.WEBSITE)
    w["referral"] = LeadFactory(
        first_name="Rafa", last_name="Referred", source=Source.REFERRAL, referrer=org.employee
    )
    w["referrer_only"] = LeadFactory(first_name="Rudi", last_name="Referrer", referrer=org.employee)
    w["recycled"] = make_mql(first_name="Cyril", last_name="Recycled")
    services.lead_reject(
        lead_id=w["recycled"].pk, actor=org.rep, reason=reasons.rejection, note="No budget until Q3"
    )
    # A referral sales sent back: recycled only, with sales' reason.
    w["recycled_referral"] = make_mql(first_name="Rene", last_name="Returnedref", source=Source.REFERRAL)
    services.lead_reject(lead_id=w["recycled_referral"].pk, actor=org.rep, reason=reasons.rejection)
    # In no list: with sales, handed off, too old, disqualified.
    w["mql"] = make_mql(first_name="Mona", last_name="Mqlnow")
    with time_machine.travel(timezone.now() - dt.timedelta(days=NEW_LEAD_DAYS + 1)):
        w["old"] = LeadFactory(first_name="Olga", last_name="Oldlead")
    w["disq"] = make_lead(first_name="Dana", last_name="Disq")
    services.lead_disqualify(lead_id=w["disq"].pk, actor=org.marketer, reason=reasons.disqualification)
    return w


def ids(kind: str) -> set[int]:
    return set(selectors.marketing_queue(kind).values_list("pk", flat=True))


def test_each_lead_is_in_the_list_its_definition_says(world):
    assert ids("new") == {world["new"].pk}
    assert ids("referral") == {world["referral"].pk, world["referrer_only"].pk}
    assert ids("recycled") == {world["recycled"].pk, world["recycled_referral"].pk}
    assert queue_counts() == {"new": (1, False), "referral": (2, False), "recycled": (2, False)}
    assert queue_counts(cap=1)["referral"] == (1, True)


def test_a_new_lead_leaves_the_new_list_after_thirty_days_or_at_hand_off(org, world):
    later = timezone.now() + dt.timedelta(days=NEW_LEAD_DAYS, minutes=1)
    assert world["new"].pk not in set(selectors.queue_new(later).values_list("pk", flat=True))
    services.engagement_log(lead_id=world["new"].pk, actor=org.marketer, type="webinar_attended", points=20)
    services.lead_qualify(lead_id=world["new"].pk, actor=org.marketer)
    assert ids("new") == set()


def test_the_page_shows_tabs_with_counts_and_each_list_with_its_context(client, org, world, reasons):
    client.force_login(org.marketer)
    page = html.unescape(client.get("/queue/").content.decode())
    assert re.search(r'aria-current="page" href="/queue/\?tab=new">New <span[^>]*>\(1\)', page)
    assert "Referrals <span" in page and "(2)</span>" in page and "Recycled <span" in page
    assert "Nell Newlead" in page and "Website" in page and "Rafa Referred" not in page
    assert f'href="/leads/{world["new"].pk}/"' in page and "Olga Oldlead" not in page
    referrals = html.unescape(client.get("/queue/", {"tab": "referral"}).content.decode())
    assert "Rafa Referred" in referrals and "Rudi Referrer" in referrals and "Nell Newlead" not in referrals
    assert (org.employee.get_full_name() or org.employee.username) in referrals
    assert "Rene Returnedref" not in referrals
    recycled = html.unescape(client.get("/recycled/").content.decode())
    assert "Cyril Recycled" in recycled and "No budget until Q3" in recycled
    assert reasons.rejection.label in recycled and "Rene Returnedref" in recycled
    assert 'aria-current="page" href="/recycled/"' in recycled
    # The nav names the page "Queue", current on either address.
    assert re.search(r'href="/queue/" aria-current="page">Queue<', recycled)
    assert client.get("/queue/", {"tab": "recycled"}).content.decode().count("Cyril Recycled") == 1


def test_empty_lists_say_what_to_do(client, org):
    client.force_login(org.marketer)
    assert "No new leads in the last 30 days" in client.get("/queue/").content.decode()
    assert "No referrals waiting" in client.get("/queue/?tab=referral").content.decode()
    assert "No recycled leads — sales accepted everything you handed over." in html.unescape(
        client.get("/recycled/").content.decode()
    )


def test_a_long_list_is_paged_with_its_true_count(client, org):
    for n in range(55):
        LeadFactory(first_name="Page", last_name=f"Lead{n:02d}", email=f"page{n}@example.com")
    client.force_login(org.marketer)
    first = client.get("/queue/").content.decode()
    assert "55 leads." in first and "(55)" in first
    assert first.count("page") >= 50 and "Lead54" in first and "Lead04" not in first  # newest first
    cursor = re.search(r"tab=new&amp;after=([\w-]+)", first).group(1)
    second = client.get("/queue/", {"tab": "new", "after": cursor}).content.decode()
    shown = {f"Lead{n:02d}" for n in range(55) if f"Lead{n:02d}<" in first + second}
    assert len(shown) == 55 and "Next page" not in second and "First page" in second


@pytest.mark.parametrize("rows", [2, 12])
def test_each_tab_reads_in_constant_queries(
    client, org, make_mql, reasons, rows, django_assert_max_num_queries
):
    for n in range(rows):
        LeadFactory(email=f"q{n}@example.com")
        LeadFactory(email=f"ref{n}@example.com", referrer=org.employee)
        lead = make_mql(email=f"r{n}@example.com")
        services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection)
    client.force_login(org.marketer)
    for url, prefix in (("/queue/", "q"), ("/queue/?tab=referral", "ref"), ("/recycled/", "r")):
        with django_assert_max_num_queries(12):
            page = client.get(url).content.decode()
        assert sum(f"{prefix}{n}@example.com" in page for n in range(rows)) == rows, url


def test_an_employee_has_no_queue(client, org):
    client.force_login(org.employee)
    response = client.get("/queue/")
    assert response.status_code == 403
    assert "only they see it" in html.unescape(response.content.decode())
    assert APIClient().get("/api/queue/").status_code in (401, 403)


def test_the_api_lists_what_the_page_lists(org, world, reasons):
    api = APIClient()
    api.force_authenticate(org.marketer)
    for kind in ("new", "referral", "recycled"):
        body = api.get("/api/queue/", {"kind": kind}).json()
        assert {row["id"] for row in body["results"]} == ids(kind) and body["count"] == len(ids(kind)), kind
    assert [r["id"] for r in api.get("/api/queue/").json()["results"]] == [world["new"].pk]
    recycled = {r["id"]: r for r in api.get("/api/queue/", {"kind": "recycled"}).json()["results"]}
    row = recycled[world["recycled"].pk]
    assert (row["feedback_type"], row["feedback_reason"], row["feedback_note"], row["feedback_by"]) == (
        "rejected",
        reasons.rejection.label,
        "No budget until Q3",
        "rep",
    )
    referral = next(r for r in api.get("/api/queue/", {"kind": "referral"}).json()["results"])
    assert referral["referrer"]["username"] == "technician" and referral["feedback_type"] is None
    bad = api.get("/api/queue/", {"kind": "hot"})
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == {
        "kind": ["kind is one of new, referral, recycled."]
    }
    assert api.get("/api/queue/", {"kind": "recycled", "reason": "x"}).status_code == 400
    employee = APIClient()
    employee.force_authenticate(org.employee)
    assert employee.get("/api/queue/").status_code == 403
