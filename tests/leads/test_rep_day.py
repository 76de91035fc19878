"""The rep's day (issue 22): every SQL, paged, the most urgent first, each with its
follow-up's progress; a quick touch chooses nothing for the rep."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from leads import selectors, services
from sla.models import Clock, Obligation, SlaPolicy
from sla.services import sla_enforce

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)


def _sql(make_sql, n: int, at: dt.datetime):
    with time_machine.travel(at, tick=False):
        return make_sql(email=f"sql{n}@example.com", last_name=f"Sql{n:02d}")


def test_every_sql_is_listed_paged_with_the_true_count(client, org, make_sql):
    for n in range(selectors.HOME_LIST_LIMIT + 4):
        _sql(make_sql, n, MONDAY + dt.timedelta(minutes=n))
    client.force_login(org.rep)
    with time_machine.travel(MONDAY + dt.timedelta(hours=2), tick=False):
        first = client.get(reverse("home")).content.decode()
        second = client.get(reverse("home") + "?sqls_page=2").content.decode()
    total = selectors.HOME_LIST_LIMIT + 4
    assert f'My SQLs <span class="muted">({total})</span>' in first
    assert f"1–{selectors.HOME_LIST_LIMIT} of {total}" in first and "?sqls_page=2" in first
    shown = set(re.findall(r"Sql\d\d", first)) | set(re.findall(r"Sql\d\d", second))
    assert len(shown) == total


def test_sqls_come_overdue_first_with_their_follow_up_progress(client, org, make_sql):
    SlaPolicy.objects.update(follow_up_touches=3)
    early = _sql(make_sql, 1, MONDAY - dt.timedelta(days=14))  # its follow-up is long overdue
    fresh = _sql(make_sql, 2, MONDAY)
    with time_machine.travel(MONDAY + dt.timedelta(hours=1), tick=False):
        services.touch_log(lead_id=fresh.pk, actor=org.rep, kind="call", outcome="connected")
    Clock.objects.filter(lead=early, obligation=Obligation.FOLLOW_UP).update(
        due_at=MONDAY - dt.timedelta(days=1)
    )
    client.force_login(org.rep)
    with time_machine.travel(MONDAY + dt.timedelta(hours=2), tick=False):
        before_breach = client.get(reverse("home")).content.decode()
        sla_enforce()
        after_breach = client.get(reverse("home")).content.decode()
    assert before_breach.index("Sql01") < before_breach.index("Sql02")  # overdue first
    # The fresh one: 1 of 3 touches, due next Monday 10:00 (40 business hours after
    # acceptance, 38 of them left), a week away so with its date.
    assert (
        "1 of 3 touches · " in before_breach and "Mon 30 Nov 10:00 · in 38 h business time" in before_breach
    )
    assert "⚠ missed: 0 of 3 touches by Sun 22 Nov" in after_breach  # the breached one, stopped


def test_a_quick_touch_chooses_no_kind_or_outcome_for_the_rep(client, org, make_sql):
    lead = make_sql()
    client.force_login(org.rep)
    html = client.get(reverse("home")).content.decode()
    form = html[html.index(f'id="kind-{lead.pk}"') - 200 : html.index(f'aria-label="Log touch on {lead}"')]
    assert '<option value="">Type…</option>' in form and '<option value="">Outcome…</option>' in form
    assert form.count("required") == 2 and "selected" not in form
    # A stray click posts nothing chosen: refused, and nothing is logged.
    response = client.post(reverse("lead-action", args=[lead.pk, "touch"]), {"kind": "", "outcome": ""})
    assert response.status_code == 400
    assert not lead.touches.exists()


def test_today_counts_passed_deadlines_those_due_today_and_waiting_hand_offs(client, org, make_mql, make_sql):
    with time_machine.travel(MONDAY - dt.timedelta(days=3), tick=False):  # Friday: due Monday 10:00
        late = make_mql(email="late@example.com")
    with time_machine.travel(MONDAY, tick=False):  # due Tuesday 10:00
        make_mql(email="tomorrow@example.com")
    with time_machine.travel(MONDAY.replace(hour=9, minute=30), tick=False):  # due Tuesday 09:30
        make_mql(email="early@example.com")
    with time_machine.travel(MONDAY - dt.timedelta(days=6, hours=-6), tick=False):  # Tuesday before
        make_sql(email="sql@example.com")  # follow-up due Tuesday 16:00 (40 business hours)
    assert Clock.objects.get(lead=late).due_at == MONDAY - dt.timedelta(days=3) + dt.timedelta(days=3)
    client.force_login(org.rep)
    with time_machine.travel(MONDAY + dt.timedelta(hours=1), tick=False):
        today = selectors.rep_today(org.rep)
        html = client.get(reverse("home")).content.decode()
    assert today == selectors.Today(overdue=1, due_today=0, waiting=3)
    assert "<strong>1</strong> deadline passed" in html and "<strong>3</strong> hand-offs waiting" in html
    with time_machine.travel(MONDAY + dt.timedelta(days=1, hours=1), tick=False):  # Tuesday 11:00
        assert selectors.rep_today(org.rep) == selectors.Today(overdue=3, due_today=1, waiting=3)


def test_a_bad_filter_is_named_by_its_label_not_its_parameter(client, org):
    client.force_login(org.marketer)
    html = client.get(reverse("lead-list") + "?score_min=lots").content.decode()
    assert "Score_min" not in html and "score_min:" not in html
    label = str(
        __import__("leads.filters", fromlist=["LeadFilter"]).LeadFilter().form.fields["score_min"].label
    )
    assert f"{label}: " in html
