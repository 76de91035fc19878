"""The campaign pages: list (search, channel, month, paging, empty state), new, edit, and
one campaign with its closed loop — the dashboard's own figures, linked to their leads."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from leads import services
from reports import dashboard, metrics
from reports.campaigns import campaign_funnel
from smarketing.core.weeks import monday_of
from smarketing.org import campaigns
from smarketing.org.models import Campaign, CampaignChange, Channel
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def _as(client, user):
    client.force_login(user)
    return client


def _text(response) -> str:
    return html.unescape(response.content.decode())


FORM = {
    "name": "June Customer Seminar",
    "channel": "event",
    "starts_on": "2026-06-10",
    "ends_on": "2026-06-12",
    "budget": "5000",
    "cost": "4200.50",
}


def test_a_marketer_creates_a_campaign_and_lands_on_it(client, org):
    response = _as(client, org.marketer).post("/campaigns/new/", {**FORM, "owner": org.marketer.pk})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert (campaign.channel, campaign.budget, campaign.cost, campaign.owner) == (
        Channel.EVENT,
        Decimal("5000.00"),
        Decimal("4200.50"),
        org.marketer,
    )
    assert CampaignChange.objects.get().actor == org.marketer
    page = _text(client.get(response["Location"]))
    assert "June Customer Seminar" in page and "Edit campaign" in page


def test_end_before_start_is_shown_at_the_field_and_saves_nothing(client, org):
    response = _as(client, org.marketer).post("/campaigns/new/", {**FORM, "ends_on": "2026-06-01"})
    assert response.status_code == 400
    page = _text(response)
    assert "A campaign cannot end before it starts" in page
    assert 'value="June Customer Seminar"' in page  # what was typed is kept
    assert not Campaign.objects.exists() and not CampaignChange.objects.exists()


def test_a_name_taken_in_another_case_is_refused(client, org):
    CampaignFactory(name="June customer seminar")
    response = _as(client, org.marketer).post("/campaigns/new/", FORM)
    assert response.status_code == 400
    assert "A campaign named “June Customer Seminar” already exists." in _text(response)
    assert Campaign.objects.count() == 1


def test_edit_keeps_the_version_and_a_stale_form_is_refused(client, org):
    campaign = campaigns.campaign_create(actor=org.marketer, name="Webinar", cost=Decimal(100))
    client = _as(client, org.marketer)
    form = _text(client.get(f"/campaigns/{campaign.pk}/edit/"))
    assert 'name="version" value="1"' in form
    saved = client.post(
        f"/campaigns/{campaign.pk}/edit/",
        {"name": "Webinar", "channel": "webinar", "cost": "150", "version": 1},
    )
    assert saved.status_code == 302
    stale = client.post(
        f"/campaigns/{campaign.pk}/edit/", {"name": "Webinar", "channel": "email", "cost": "1", "version": 1}
    )
    assert stale.status_code == 409 and "Someone changed this campaign" in _text(stale)
    campaign.refresh_from_db()
    assert (campaign.channel, campaign.cost, campaign.version) == ("webinar", Decimal("150.00"), 2)


def test_the_list_finds_by_month_name_and_channel_newest_first(client, org):
    CampaignFactory(
        name="June Customer Seminar",
        channel="event",
        starts_on=dt.date(2026, 6, 10),
        ends_on=dt.date(2026, 6, 12),
    )
    CampaignFactory(
        name="Spring webinar", channel="webinar", starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 6, 2)
    )
    CampaignFactory(
        name="Autumn fair", channel="event", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 9, 3)
    )
    client = _as(client, org.rep)
    names = lambda response: re.findall(r'<a href="/campaigns/\d+/">([^<]+)</a>', _text(response))  # noqa: E731
    assert names(client.get("/campaigns/")) == ["Autumn fair", "June Customer Seminar", "Spring webinar"]
    assert names(client.get("/campaigns/?month=2026-06")) == ["June Customer Seminar", "Spring webinar"]
    assert names(client.get("/campaigns/?month=2026-06&channel=event")) == ["June Customer Seminar"]
    assert names(client.get("/campaigns/?q=SEMINAR")) == ["June Customer Seminar"]
    empty = client.get("/campaigns/?month=2026-01")
    assert names(empty) == [] and "No campaign matches in January 2026" in _text(empty)
    assert client.get("/campaigns/?month=June").status_code == 400
    assert "New campaign" not in _text(client.get("/campaigns/"))  # a rep reads only


def test_the_list_pages_and_runs_few_queries(client, org, django_assert_max_num_queries):
    for n in range(30):
        CampaignFactory(
            name=f"Campaign {n:02}", starts_on=dt.date(2026, 1, 1) + dt.timedelta(days=n), owner=org.marketer
        )
    client = _as(client, org.marketer)
    client.get("/campaigns/")  # sessions, roles: warm
    with django_assert_max_num_queries(12):
        first = _text(client.get("/campaigns/"))
    assert "Campaign 29" in first and "Campaign 04" not in first and "page=2" in first
    assert "Campaign 04" in _text(client.get("/campaigns/?page=2"))


def test_the_empty_list_says_what_to_do(client, org):
    assert "Create the first one" in _text(_as(client, org.marketer).get("/campaigns/"))


def _history(org, make_lead):
    """Three leads of the campaign (one customer worth 12,000, one SQL), one of another."""
    campaign = campaigns.campaign_create(
        actor=org.marketer,
        name="June Customer Seminar",
        channel="event",
        budget=Decimal(5000),
        cost=Decimal(4000),
    )
    other = CampaignFactory(name="Other", cost=Decimal(10))
    won, sql, plain = (make_lead(campaign=campaign) for _ in range(3))
    make_lead(campaign=other)
    for lead in (won, sql):
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
        services.lead_accept(lead_id=lead.pk, actor=org.rep)
    services.lead_win(lead_id=won.pk, actor=org.rep, amount="12000", closed_on=timezone.localdate())
    campaign.ids = {"won": won.pk, "sql": sql.pk, "plain": plain.pk}
    return campaign


def test_the_detail_shows_the_dashboards_figures_linked_to_their_leads(client, org, make_lead):
    campaign = _history(org, make_lead)
    this_week = monday_of(None)
    funnel = campaign_funnel(campaign=campaign)
    # The dashboard's own row for this campaign, over the same weeks and unfiltered.
    expected = next(
        row
        for row in metrics.attribution(funnel.first, this_week, by="campaign")
        if row["key"] == campaign.pk
    )
    assert (expected["leads"], expected["mqls"], expected["sqls"], expected["customers"]) == (3, 2, 2, 1)
    for name in ("leads", "mqls", "sqls", "customers", "revenue", "cost", "cost_per_customer"):
        assert funnel.figure(name) == expected[name], name
    assert funnel.figure("roi") == pytest.approx(float(expected["roi"])) == 2.0  # (12,000 − 4,000) ÷ 4,000
    table = dashboard.attribution_table(dashboard.scope_for(funnel.first, this_week), "campaign")
    row = next(r for r in table.rows if r["name"] == "June Customer Seminar")
    assert {k: row[k] for k in ("leads", "customers", "revenue", "roi")} == {
        k: funnel.row[k] for k in ("leads", "customers", "revenue", "roi")
    }

    client = _as(client, org.rep)
    page = _text(client.get(f"/campaigns/{campaign.pk}/"))
    for key, value in (("leads", 3), ("mqls", 2), ("sqls", 2), ("customers", 1)):
        assert f'data-key="{key}" data-value="{value}"' in page
    assert "200 %" in page  # ROI
    assert "Edit campaign" not in page  # a rep reads only
    # Each count opens exactly its leads, as the dashboard's drill-downs do.
    link = funnel.links["customers"]
    assert html.escape(link) in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    customers = _text(client.get(link))
    assert f'href="/leads/{campaign.ids["won"]}/"' in customers
    assert f'href="/leads/{campaign.ids["sql"]}/"' not in customers
    sqls = _text(client.get(funnel.links["sqls"]))
    assert (
        f'href="/leads/{campaign.ids["sql"]}/"' in sqls
        and f'href="/leads/{campaign.ids["plain"]}/"' not in sqls
    )
    everyone = _text(client.get(funnel.links["leads"]))
    assert all(f'href="/leads/{pk}/"' in everyone for pk in campaign.ids.values())


def test_the_detail_for_a_range_and_the_api_agree(client, org, make_lead):
    campaign = _history(org, make_lead)
    this_week = monday_of(None)
    client = _as(client, org.sales_manager)
    api = client.get(f"/api/campaigns/{campaign.pk}/funnel/").json()
    assert (api["leads"], api["mqls"], api["sqls"], api["customers"]) == (3, 2, 2, 1)
    assert (api["revenue"], api["budget"], api["cost"], api["cost_per_customer"], api["roi"]) == (
        "12000.00",
        "5000.00",
        "4000.00",
        "4000.00",
        2.0,
    )
    assert api["all_time"] is True and api["last_week"] == this_week.isoformat()
    assert set(api["links"]) == {"leads", "mqls", "sqls", "customers"}
    # A range before any lead: no figures, and the page says so.
    earlier = (this_week - dt.timedelta(weeks=10)).isoformat()
    past = client.get(f"/api/campaigns/{campaign.pk}/funnel/?week={earlier}&week_to={earlier}").json()
    assert (past["leads"], past["revenue"], past["roi"], past["all_time"]) == (0, "0.00", None, False)
    page = _text(client.get(f"/campaigns/{campaign.pk}/?week={earlier}&week_to={earlier}"))
    assert "No lead with this campaign as first touch was created in these weeks" in page
    future = (this_week + dt.timedelta(weeks=2)).isoformat()
    assert client.get(f"/api/campaigns/{campaign.pk}/funnel/?week_to={future}").status_code == 422
    assert client.get(f"/api/campaigns/{campaign.pk}/funnel/?week=soon").status_code == 400


def test_who_may_open_which_page(client, org):
    campaign = CampaignFactory(name="Existing")
    rep = _as(client, org.rep)
    assert rep.get(f"/campaigns/{campaign.pk}/").status_code == 200
    edit = rep.get(f"/campaigns/{campaign.pk}/edit/")
    assert edit.status_code == 403 and "Only marketing can create or edit campaigns." in _text(edit)
    assert (
        rep.post(f"/campaigns/{campaign.pk}/edit/", {"name": "Mine", "channel": "event"}).status_code == 403
    )
    assert rep.get("/campaigns/new/").status_code == 403
    client.logout()
    employee = _as(client, org.employee)
    assert employee.get("/campaigns/").status_code == 403
    assert employee.get(f"/campaigns/{campaign.pk}/").status_code == 403
    assert Campaign.objects.get().name == "Existing" and not CampaignChange.objects.exists()
    client.logout()
    manager = _as(client, org.marketing_manager)
    assert "Edit campaign" in _text(manager.get(f"/campaigns/{campaign.pk}/"))
    assert manager.get("/campaigns/999999/").status_code == 404
