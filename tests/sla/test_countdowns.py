"""The rep's queue counts down in business time and refreshes itself."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine

from leads import services

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_1630 = dt.datetime(2026, 11, 27, 16, 30, tzinfo=BERLIN)


def test_queue_shows_business_time_left_and_the_cell_refreshes(client, org, make_lead):
    lead = make_lead(first_name="Fay", last_name="Friday")
    with time_machine.travel(FRIDAY_1630, tick=False):
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    client.force_login(org.rep)
    # Saturday noon: the team does not work, so all 7.5 business hours of Monday are left
    # (of the 8: half an hour went on Friday), though the wall clock says 52 h.
    with time_machine.travel(dt.datetime(2026, 11, 28, 12, 0, tzinfo=BERLIN), tick=False):
        page = client.get("/").content.decode()
        cell = client.get(f"/leads/{lead.pk}/due/").content.decode()
    # One way to show a deadline on every screen: its day and time, the business time left,
    # the exact moment on hover.
    assert "Mon 16:30 · in 7 h 30 m business time" in page
    assert f'hx-get="/leads/{lead.pk}/due/" hx-trigger="every 60s"' in page
    assert "Mon 16:30 · in 7 h 30 m business time" in cell and 'title="Mon 30 Nov 2026 16:30 (CET)"' in cell
    with time_machine.travel(dt.datetime(2026, 11, 30, 17, 0, tzinfo=BERLIN), tick=False):
        assert "Mon 16:30 · ⚠ overdue by 30 m" in client.get(f"/leads/{lead.pk}/due/").content.decode()
    services.lead_accept(lead_id=lead.pk, actor=org.rep)
    assert "answered" in client.get(f"/leads/{lead.pk}/due/").content.decode()
