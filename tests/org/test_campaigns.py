"""Campaigns: the one validation, the audited writes with their version, who may, and the
API's create and edit (400 malformed, 422 refused by a rule, 409 stale)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from smarketing.core.errors import ActionError
from smarketing.org import campaigns
from smarketing.org.models import Campaign, CampaignChange, Channel
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

JUNE = {"starts_on": dt.date(2026, 6, 10), "ends_on": dt.date(2026, 6, 12)}


def _seminar(org, **values):
    fields = {
        "name": "June Customer Seminar",
        "channel": Channel.EVENT,
        "budget": Decimal("5000"),
        "cost": Decimal("4200.50"),
        "owner": org.marketer,
        **JUNE,
    }
    fields.update(values)
    return campaigns.campaign_create(actor=org.marketer, **fields)


# --- the service ------------------------------------------------------------------------------------


def test_create_saves_the_values_and_audits_who_and_what(org):
    campaign = _seminar(org, name="  June Customer Seminar  ")
    campaign.refresh_from_db()
    assert campaign.name == "June Customer Seminar"  # trimmed
    assert (campaign.channel, campaign.budget, campaign.cost) == (
        Channel.EVENT,
        Decimal("5000.00"),
        Decimal("4200.50"),
    )
    assert (campaign.starts_on, campaign.ends_on, campaign.owner, campaign.version) == (
        JUNE["starts_on"],
        JUNE["ends_on"],
        org.marketer,
        1,
    )
    change = CampaignChange.objects.get(campaign=campaign)
    assert change.action == "created" and change.actor == org.marketer and change.before is None
    assert change.after["name"] == "June Customer Seminar"
    assert change.after["budget"] == "5000.00" and change.after["starts_on"] == "2026-06-10"
    assert change.after["owner"] == {"id": org.marketer.pk, "username": "marketer"}


@pytest.mark.parametrize(
    "values,field,words",
    [
        ({"name": "   "}, "name", "Give the campaign a name."),
        (
            {"starts_on": dt.date(2026, 6, 12), "ends_on": dt.date(2026, 6, 10)},
            "ends_on",
            "cannot end before it starts",
        ),
        ({"budget": Decimal("-1")}, "budget", "cannot be negative"),
        ({"cost": Decimal("-0.01")}, "cost", "cannot be negative"),
        ({"cost": Decimal("10.005")}, "cost", "at most 2 decimal places"),
        ({"budget": Decimal("1E+12")}, "budget", "can be at most"),
        ({"channel": "billboard"}, "channel", "Choose a channel"),
    ],
)
def test_a_refused_create_says_why_at_the_field_and_saves_nothing(org, values, field, words):
    with pytest.raises(ActionError) as refused:
        _seminar(org, **values)
    assert refused.value.code == ActionError.INVALID
    assert words in refused.value.fields[field][0]
    assert not Campaign.objects.exists() and not CampaignChange.objects.exists()


def test_names_are_unique_whatever_their_case(org):
    _seminar(org)
    with pytest.raises(ActionError) as refused:
        _seminar(org, name="june customer SEMINAR")
    assert refused.value.fields["name"] == ["A campaign named “june customer SEMINAR” already exists."]
    assert Campaign.objects.count() == 1


def test_the_database_holds_case_insensitive_uniqueness_too(org, monkeypatch):
    """Two creates racing past the check: the index refuses the second, and it is told."""
    CampaignFactory(name="Spring Webinar")
    checked = campaigns.campaign_clean
    monkeypatch.setattr(
        campaigns,
        "campaign_clean",
        lambda values, **kw: {**checked({**values, "name": "Unchecked"}, **kw), "name": values["name"]},
    )
    with pytest.raises(ActionError) as refused:
        campaigns.campaign_create(actor=org.marketer, name="SPRING WEBINAR")
    assert refused.value.fields["name"] == ["A campaign named “SPRING WEBINAR” already exists."]
    assert Campaign.objects.count() == 1 and not CampaignChange.objects.exists()


def test_the_owner_is_on_the_marketing_side(org):
    for person in (org.rep, org.sales_manager, org.employee):
        with pytest.raises(ActionError) as refused:
            _seminar(org, owner=person)
        assert "marketing side" in refused.value.fields["owner"][0]
    assert _seminar(org, owner=org.marketing_manager).owner == org.marketing_manager


@pytest.mark.parametrize("who", ["rep", "sales_manager", "other_manager", "employee"])
def test_only_marketing_creates_and_edits(org, who):
    campaign = CampaignFactory(name="Existing")
    with pytest.raises(ActionError) as refused:
        campaigns.campaign_create(actor=getattr(org, who), name="Mine")
    assert refused.value.code == ActionError.FORBIDDEN
    with pytest.raises(ActionError):
        campaigns.campaign_update(actor=getattr(org, who), campaign_id=campaign.pk, cost=Decimal(1))
    assert Campaign.objects.get().cost == Decimal("1000.00") and not CampaignChange.objects.exists()


def test_marketing_manager_and_admin_may_edit(org):
    campaign = _seminar(org)
    for who in (org.marketing_manager, org.admin, org.marketer2):
        campaign = campaigns.campaign_update(actor=who, campaign_id=campaign.pk, cost=campaign.cost + 1)
    assert campaign.cost == Decimal("4203.50")


def test_update_changes_only_what_is_given_and_audits_old_and_new(org):
    campaign = _seminar(org)
    updated = campaigns.campaign_update(
        actor=org.marketing_manager,
        campaign_id=campaign.pk,
        expected_version=1,
        cost=Decimal("4800"),
        budget=None,
    )
    assert (updated.cost, updated.budget, updated.name, updated.version) == (
        Decimal("4800.00"),
        None,
        "June Customer Seminar",
        2,
    )
    change = CampaignChange.objects.filter(action="updated").get()
    assert change.actor == org.marketing_manager
    assert change.before == {"budget": "5000.00", "cost": "4200.50"}
    assert change.after == {"budget": None, "cost": "4800.00"}


def test_an_update_that_changes_nothing_writes_nothing(org):
    campaign = _seminar(org)
    same = campaigns.campaign_update(
        actor=org.marketer, campaign_id=campaign.pk, name=" June Customer Seminar "
    )
    assert same.version == 1 and CampaignChange.objects.count() == 1


def test_a_stale_edit_is_refused_and_loses_nothing(org):
    campaign = _seminar(org)
    campaigns.campaign_update(
        actor=org.marketer2, campaign_id=campaign.pk, expected_version=1, cost=Decimal("10")
    )
    with pytest.raises(ActionError) as refused:
        campaigns.campaign_update(
            actor=org.marketer, campaign_id=campaign.pk, expected_version=1, cost=Decimal("99")
        )
    assert refused.value.code == ActionError.STALE_VERSION and refused.value.data == {"current_version": 2}
    assert Campaign.objects.get().cost == Decimal("10.00")


def test_an_edit_keeps_an_owner_who_left_marketing_but_cannot_choose_one(org):
    campaign = _seminar(org)
    org.marketer.groups.clear()
    org.marketer.membership.delete()
    former = type(org.marketer).objects.get(pk=org.marketer.pk)  # roles read afresh
    kept = campaigns.campaign_update(actor=org.marketer2, campaign_id=campaign.pk, cost=Decimal("1"))
    assert kept.owner_id == org.marketer.pk
    other = CampaignFactory(name="Other")
    with pytest.raises(ActionError):
        campaigns.campaign_update(actor=org.marketer2, campaign_id=other.pk, owner=former)


# --- the list's reads -----------------------------------------------------------------------------


def test_the_month_finds_campaigns_running_in_it_newest_first(org):
    may_to_july = CampaignFactory(
        name="Summer push", starts_on=dt.date(2026, 5, 20), ends_on=dt.date(2026, 7, 2)
    )
    june = CampaignFactory(
        name="June Customer Seminar", starts_on=dt.date(2026, 6, 10), ends_on=dt.date(2026, 6, 12)
    )
    open_ended = CampaignFactory(name="Always on", starts_on=dt.date(2026, 1, 1))
    CampaignFactory(name="May only", starts_on=dt.date(2026, 5, 1), ends_on=dt.date(2026, 5, 31))
    CampaignFactory(name="July only", starts_on=dt.date(2026, 7, 1), ends_on=dt.date(2026, 7, 3))
    CampaignFactory(name="Undated")
    found = list(campaigns.campaign_list(month=dt.date(2026, 6, 1)))
    assert found == [june, may_to_july, open_ended]
    assert list(campaigns.campaign_list(q="seminar", month=dt.date(2026, 6, 1))) == [june]
    assert list(campaigns.campaign_list(channel=Channel.EVENT)) == []
    everything = [c.name for c in campaigns.campaign_list()]
    assert everything[-1] == "Undated" and everything[0] == "July only"


# --- the API --------------------------------------------------------------------------------------


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_create_and_patch_go_through_the_service(org):
    response = _api(org.marketer).post(
        "/api/campaigns/",
        {
            "name": "June Customer Seminar",
            "channel": "event",
            "budget": "5000",
            "cost": 4200.5,
            "starts_on": "2026-06-10",
            "ends_on": "2026-06-12",
            "owner": org.marketer.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["budget"] == "5000.00" and body["cost"] == "4200.50" and body["version"] == 1
    assert body["owner"]["username"] == "marketer"
    campaign = Campaign.objects.get()
    assert CampaignChange.objects.get().actor == org.marketer
    patched = _api(org.marketing_manager).patch(
        f"/api/campaigns/{campaign.pk}/", {"cost": "4800.00", "version": 1}, format="json"
    )
    assert (
        patched.status_code == 200 and patched.json()["cost"] == "4800.00" and patched.json()["version"] == 2
    )
    stale = _api(org.marketer).patch(
        f"/api/campaigns/{campaign.pk}/", {"cost": "1", "version": 1}, format="json"
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    assert Campaign.objects.get().cost == Decimal("4800.00")


@pytest.mark.parametrize(
    "body",
    [
        {"name": 0},
        {"name": "A", "cost": "ten"},
        {"name": "A", "cost": True},
        {"name": "A", "starts_on": "June"},
        {"name": "A", "owner": "me"},
        {"name": "A", "colour": "red"},
        {"name": "A", "cost": -5},
        {"name": "A", "cost": "-5"},  # the schema's pattern has no sign
    ],
)
def test_api_malformed_is_400_and_saves_nothing(org, body):
    response = _api(org.marketer).post("/api/campaigns/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "malformed"
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": "A", "starts_on": "2026-06-12", "ends_on": "2026-06-10"}, "ends_on"),
        ({"name": "  "}, "name"),
        ({"name": "spring webinar"}, "name"),
        ({"name": "A", "owner": 999999}, "owner"),
        ({"name": "A", "owner": "REP"}, "owner"),
    ],
)
def test_api_rule_refusals_are_422_at_the_field(org, body, field):
    CampaignFactory(name="Spring Webinar")
    if body.get("owner") == "REP":
        body = {**body, "owner": org.rep.pk}
    response = _api(org.marketer).post("/api/campaigns/", body, format="json")
    assert response.status_code == 422, response.json()
    assert field in response.json()["error"]["fields"]
    assert Campaign.objects.count() == 1


def test_api_who_may(org):
    campaign = CampaignFactory(name="Existing")
    assert _api(org.rep).get("/api/campaigns/").status_code == 200
    assert _api(org.rep).get(f"/api/campaigns/{campaign.pk}/").json()["name"] == "Existing"
    refused = _api(org.rep).post("/api/campaigns/", {"name": "Mine"}, format="json")
    assert refused.status_code == 403 and "Only marketing" in refused.json()["error"]["message"]
    assert (
        _api(org.sales_manager)
        .patch(f"/api/campaigns/{campaign.pk}/", {"cost": 1}, format="json")
        .status_code
        == 403
    )
    assert _api(org.employee).get("/api/campaigns/").status_code == 403
    assert (
        _api(org.marketer).put(f"/api/campaigns/{campaign.pk}/", {"name": "X"}, format="json").status_code
        == 405
    )
    assert Campaign.objects.get().name == "Existing" and not CampaignChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_edits_at_once_one_wins_the_other_is_told(product_setup):
    """On PostgreSQL the row lock serialises two edits made on the same version: exactly
    one is saved, the other is refused as stale (nothing lost silently)."""
    if connection.vendor != "postgresql":
        pytest.skip("select_for_update needs PostgreSQL")
    from tests.conftest import make_org

    org = make_org()
    campaign = _seminar(org)
    results: list = []
    barrier = threading.Barrier(2)

    def edit(actor, cost):
        try:
            barrier.wait()
            campaigns.campaign_update(
                actor=actor, campaign_id=campaign.pk, expected_version=1, cost=Decimal(cost)
            )
            results.append("saved")
        except ActionError as exc:
            results.append(exc.code)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=edit, args=(who, cost))
        for who, cost in ((org.marketer, 1), (org.marketer2, 2))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["saved", ActionError.STALE_VERSION]
    assert Campaign.objects.get().version == 2
    assert CampaignChange.objects.filter(action="updated").count() == 1
