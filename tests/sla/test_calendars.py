"""Team calendars: edited by the team's manager, audited, and used by every new clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leads import services
from sla import calendars
from sla.models import Clock, Obligation, TeamCalendar
from smarketing.agreement.models import AgreementChange
from smarketing.core.errors import ActionError

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = {str(d): ["09:00", "17:00"] for d in range(4)} | {"4": ["09:00", "13:00"]}


def test_manager_sets_hours_and_holidays_and_new_clocks_follow(org, make_lead):
    org.sales.time_zone = "Europe/Berlin"
    org.sales.save()
    calendars.team_calendar_update(
        actor=org.sales_manager,
        team_id=org.sales.pk,
        hours=WEEK,
        holiday_country="de",
        holiday_subdivision="be",
    )
    stored = TeamCalendar.objects.get(team=org.sales)
    assert (stored.holiday_country, stored.holiday_subdivision, stored.hours["4"]) == (
        "DE",
        "BE",
        ["09:00", "13:00"],
    )
    assert AgreementChange.objects.get(area="calendar").actor == org.sales_manager
    lead = make_lead()
    # Handed off Thursday 30 April 2026 16:00 Berlin; 1 May is a public holiday.
    with time_machine.travel(dt.datetime(2026, 4, 30, 16, 0, tzinfo=BERLIN), tick=False):
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    clock = Clock.objects.get(lead=lead, obligation=Obligation.RESPONSE)
    # 8 business hours: 1 h Thursday, Monday 4 May 09:00 + 7 h.
    assert clock.due_at == dt.datetime(2026, 5, 4, 16, 0, tzinfo=BERLIN)


def test_closures_close_the_day(org):
    calendars.team_calendar_update(actor=org.sales_manager, team_id=org.sales.pk, hours=WEEK)
    calendars.calendar_closure_add(
        actor=org.sales_manager, team_id=org.sales.pk, date=dt.date(2026, 12, 24), reason="Office closed"
    )
    from sla.services import calendar_of_team

    assert calendar_of_team(org.sales).is_closed(dt.date(2026, 12, 24))
    with pytest.raises(ActionError, match="already a closure"):
        calendars.calendar_closure_add(
            actor=org.sales_manager, team_id=org.sales.pk, date=dt.date(2026, 12, 24), reason="again"
        )


@pytest.mark.parametrize(
    "hours, country, subdivision, field",
    [
        ({"0": ["17:00", "09:00"]}, "", "", "hours"),
        ({"9": ["09:00", "17:00"]}, "", "", "hours"),
        ({"0": ["nine", "five"]}, "", "", "hours"),
        ({}, "", "", "hours"),
        (WEEK, "XX", "", "holiday_country"),
        (WEEK, "DE", "ZZ", "holiday_subdivision"),
    ],
)
def test_bad_calendars_are_refused(org, hours, country, subdivision, field):
    with pytest.raises(ActionError) as refused:
        calendars.team_calendar_update(
            actor=org.sales_manager,
            team_id=org.sales.pk,
            hours=hours,
            holiday_country=country,
            holiday_subdivision=subdivision,
        )
    assert field in refused.value.fields
    assert not AgreementChange.objects.exists()


@pytest.mark.parametrize("who", ["rep", "marketer", "other_manager"])
def test_only_the_teams_manager_edits(org, who):
    with pytest.raises(ActionError) as refused:
        calendars.team_calendar_update(actor=getattr(org, who), team_id=org.sales.pk, hours=WEEK)
    assert refused.value.code == ActionError.FORBIDDEN


def test_calendar_page_preview_and_edit(client, org):
    org.sales.time_zone = "Europe/Berlin"
    org.sales.save()
    client.force_login(org.rep)
    page = client.get("/agreement/calendars/", {"at": "2026-11-27T16:30"}).content.decode()
    # Friday 16:30 Berlin, Monday to Friday 9–17: half an hour Friday, 7.5 h Monday.
    assert "Handed off Fri 27 Nov 2026 16:30:</strong> response due Mon 30 Nov 2026 16:30" in page
    assert "Save calendar" not in page
    response = client.post(
        f"/agreement/calendars/{org.sales.pk}/", {"open-0": "1", "opens-0": "08:00", "closes-0": "12:00"}
    )
    assert response.status_code == 302 and not TeamCalendar.objects.exists()
    client.force_login(org.sales_manager)
    page = client.get("/agreement/calendars/").content.decode()
    assert page.count("Save calendar") == 1  # only their own team
    form = (
        {f"open-{d}": "1" for d in range(5)}
        | {f"opens-{d}": "08:00" for d in range(7)}
        | {f"closes-{d}": "16:00" for d in range(7)}
    )
    response = client.post(f"/agreement/calendars/{org.sales.pk}/", {**form, "holiday_country": "DE"})
    assert response.status_code == 302
    assert TeamCalendar.objects.get(team=org.sales).hours["0"] == ["08:00", "16:00"]
    bad = client.get("/agreement/calendars/", {"at": "someday"})
    assert bad.status_code == 400 and "Give a date and time" in bad.content.decode()


def test_calendar_api(org):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(org.rep)
    listed = api.get("/api/calendars/").json()
    sales = next(c for c in listed if c["team"] == org.sales.pk)
    assert sales["hours"]["0"] == ["09:00", "17:00"] and "5" not in sales["hours"]
    refused = api.put(f"/api/calendars/{org.sales.pk}/", {"hours": WEEK}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    api.force_authenticate(org.sales_manager)
    bad = api.put(f"/api/calendars/{org.sales.pk}/", {"hours": {"0": ["17:00", "09:00"]}}, format="json")
    assert bad.status_code == 422 and "close after it opens" in bad.json()["error"]["message"]
    ok = api.put(f"/api/calendars/{org.sales.pk}/", {"hours": WEEK, "holiday_country": "DE"}, format="json")
    assert ok.status_code == 200 and ok.json()["hours"]["4"] == ["09:00", "13:00"]
    closure = api.post(
        f"/api/calendars/{org.sales.pk}/closures/", {"date": "2026-12-24", "reason": "Party"}, format="json"
    )
    assert closure.status_code == 201
    preview = api.get(f"/api/calendars/{org.sales.pk}/preview/", {"at": "2026-12-23T16:00"}).json()
    # 23 Dec (Wed) 1 h; 24 Dec closed; 25 and 26 Dec holidays; 28 Dec Mon 09:00 + 7 h.
    assert preview["response_due"] == "2026-12-28T15:00:00Z"  # 16:00 in Berlin
    assert api.delete(f"/api/calendars/{org.sales.pk}/closures/{closure.json()['id']}/").status_code == 204
    assert api.get(f"/api/calendars/{org.sales.pk}/preview/", {"at": "soon"}).status_code == 400


@pytest.mark.parametrize("extra", [0, 5])
def test_calendar_page_query_count_is_constant(client, org, extra, django_assert_max_num_queries):
    from smarketing.org.models import Team, TeamKind

    for n in range(extra):
        team = Team.objects.create(name=f"Sales {n}", kind=TeamKind.SALES, manager=org.sales_manager)
        calendars.team_calendar_update(
            actor=org.sales_manager, team_id=team.pk, hours=WEEK, holiday_country="DE"
        )
        calendars.calendar_closure_add(
            actor=org.sales_manager, team_id=team.pk, date=dt.date(2026, 12, 24), reason="x"
        )
    client.force_login(org.sales_manager)
    with django_assert_max_num_queries(11):
        page = client.get("/agreement/calendars/").content.decode()
    assert page.count('<h2 id="team-') == 3 + extra
