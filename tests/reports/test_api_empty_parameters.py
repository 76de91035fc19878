"""A dashboard or campaign parameter sent without a value (`?source=`) is refused as the
lead list's filters are (smarketing.core.api.query_form): the schema wants a choice or a
number there, and an API client that sends an empty one meant something. Dates may be
empty: the schema says so."""

from __future__ import annotations

import pytest

from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/reports/dashboard/?source=", "source"),
        ("/api/reports/dashboard/?campaign=", "campaign"),
        ("/api/reports/dashboard/?team=&owner=", "team"),
        ("/api/reports/dashboard/funnel/?owner=", "owner"),
    ],
)
def test_an_empty_choice_or_id_is_refused_with_its_name(client, org, url, field):
    client.force_login(org.admin)
    response = client.get(url)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "malformed" and field in error["fields"]
    assert error["fields"][field] == ["Give a value, or leave it out."]


def test_an_empty_week_is_a_week_left_out(client, org):
    client.force_login(org.admin)
    left_out = client.get("/api/reports/dashboard/")
    empty = client.get("/api/reports/dashboard/?week=&week_to=")
    assert left_out.status_code == empty.status_code == 200
    assert empty.json()["range"] == left_out.json()["range"]


def test_a_campaigns_funnel_refuses_nothing_it_did_not_before(client, org):
    campaign = CampaignFactory()
    client.force_login(org.admin)
    response = client.get(f"/api/campaigns/{campaign.pk}/funnel/?week=")
    assert response.status_code == 200, response.content
