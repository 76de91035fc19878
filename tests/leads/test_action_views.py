"""Sales actions through the pages: full-page forms and in-place (htmx) quick actions."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage

pytestmark = pytest.mark.django_db


def act(client, lead, action, data, htmx=False):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("lead-action", args=[lead.pk, action]), data, **headers)


def test_lead_page_offers_only_the_actions_i_may_take(client, org, make_mql):
    lead = make_mql()
    client.force_login(org.rep)
    html = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert reverse("lead-action", args=[lead.pk, "accept"]) in html
    assert reverse("lead-action", args=[lead.pk, "reject"]) in html
    assert reverse("lead-action", args=[lead.pk, "win"]) not in html
    client.force_login(org.marketer)
    html = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    # Marketing reads and may still log what the lead did; sales acts.
    offered = set(re.findall(rf"/leads/{lead.pk}/act/([a-z]+)/", html))
    assert offered == {"engagement"}


def test_accept_by_form_redirects_with_a_message(client, org, make_mql):
    lead = make_mql()
    client.force_login(org.rep)
    response = act(client, lead, "accept", {"version": lead.version})
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL
    page = client.get(response.url).content.decode()
    assert "is now your SQL" in page


def test_reject_without_reason_keeps_the_note_and_changes_nothing(client, org, make_mql):
    lead = make_mql()
    client.force_login(org.rep)
    response = act(client, lead, "reject", {"version": lead.version, "note": "My typed note"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a reason from the agreed list." in html and "My typed note" in html
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL
    assert not LeadEvent.objects.filter(lead=lead, type=EventType.REJECTED).exists()


def test_stale_form_is_refused_with_a_message(client, org, make_mql):
    lead = make_mql()
    services.lead_update(lead_id=lead.pk, actor=org.marketer, phone="+1 555 0101")
    client.force_login(org.rep)
    response = act(client, lead, "accept", {"version": lead.version})
    assert response.status_code == 409
    assert "Someone changed this lead since you loaded it" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


@pytest.mark.parametrize("actor", ["marketer", "rep2", "other_manager", "employee"])
def test_other_people_are_refused_on_the_page_too(client, org, make_sql, actor):
    lead = make_sql()
    client.force_login(getattr(org, actor))
    response = act(client, lead, "win", {"version": lead.version, "amount": "100", "closed_on": "2026-11-01"})
    assert response.status_code == 403
    assert "only the owner rep or their manager can" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL


def test_quick_actions_in_place_return_the_new_row(client, org, make_mql, make_sql, reasons):
    accepted, rejected, worked = make_mql(), make_mql(), make_sql()
    client.force_login(org.rep)
    done = act(client, accepted, "accept", {"version": accepted.version}, htmx=True)
    assert done.status_code == 200 and "is now your SQL" in done.content.decode()
    done = act(
        client, rejected, "reject", {"version": rejected.version, "reason": reasons.rejection.pk}, htmx=True
    )
    assert reasons.rejection.label in done.content.decode()
    done = act(client, worked, "touch", {"kind": "call", "outcome": "connected"}, htmx=True)
    assert "Touch logged" in done.content.decode() and worked.touches.count() == 1
    again = act(client, accepted, "accept", {"version": accepted.version}, htmx=True)
    assert again.status_code == 409 and "⚠" in again.content.decode()


def test_win_lose_reassign_by_form(client, org, make_sql, reasons):
    won, lost, moved = make_sql(), make_sql(), make_sql()
    client.force_login(org.rep)
    assert (
        act(
            client,
            won,
            "win",
            {"version": won.version, "amount": "2500", "closed_on": timezone.localdate().isoformat()},
        ).status_code
        == 302
    )
    assert (
        act(client, lost, "lose", {"version": lost.version, "reason": reasons.loss_recycle.pk}).status_code
        == 302
    )
    org.rep2.membership.is_away = False  # the form offers reps who are available
    org.rep2.membership.save()
    client.force_login(org.sales_manager)
    assert act(client, moved, "reassign", {"version": moved.version, "owner": org.rep2.pk}).status_code == 302
    assert Lead.objects.get(pk=won.pk).deal_amount == 2500
    assert Lead.objects.get(pk=lost.pk).stage == Stage.LEAD
    assert Lead.objects.get(pk=moved.pk).owner == org.rep2


def test_timeline_shows_every_kind_of_step(client, org, make_sql):
    lead = make_sql()
    services.touch_log(
        lead_id=lead.pk, actor=org.rep, kind="meeting", outcome="meeting_held", note="Demo done"
    )
    client.force_login(org.employee)
    html = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    for text in [
        "Created",
        "Webinar attended",
        "Qualified (handed to sales)",
        "assigned by round robin",
        "Accepted by sales",
        "Meeting touch",
        "Demo done",
    ]:
        assert text in html, text


def test_inbox_and_handoffs_pages(client, org, make_mql, reasons, django_capture_on_commit_callbacks):
    lead = make_mql(first_name="Inga", last_name="Inbox")
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection, note="Too small")
    client.force_login(org.marketer)
    home = client.get(reverse("home")).content.decode()
    assert "1 unread" in home
    html = client.get(reverse("inbox")).content.decode()
    assert "MQL rejected: Inga Inbox" in html
    html = client.get(reverse("my-handoffs")).content.decode()
    assert (
        "Inga Inbox" in html
        and "Rejected" in html
        and reasons.rejection.label in html
        and "Too small" in html
    )
    client.post(reverse("inbox-read-all"))
    assert "unread" not in client.get(reverse("home")).content.decode().split("</nav>")[0]


PAGE_ACTIONS = [
    ("accept", "mql"),
    ("reject", "mql"),
    ("touch", "sql"),
    ("win", "sql"),
    ("lose", "sql"),
    ("disqualify", "sql"),
    ("reassign", "sql"),
]


def form_data(name, lead, org, reasons):
    today = timezone.localdate().isoformat()
    return {
        "accept": {},
        "reject": {"reason": reasons.rejection.pk},
        "touch": {"kind": "call", "outcome": "connected"},
        "win": {"amount": "10", "closed_on": today},
        "lose": {"reason": reasons.loss_recycle.pk},
        "disqualify": {"reason": reasons.disqualification.pk},
        "reassign": {"owner": org.rep.pk},
    }[name] | {"version": lead.version}


@pytest.mark.parametrize("actor", ["marketer", "rep2", "other_rep", "other_manager", "employee"])
@pytest.mark.parametrize("name,stage", PAGE_ACTIONS)
def test_every_page_action_refuses_everyone_but_owner_and_manager(
    client, org, reasons, make_mql, make_sql, name, stage, actor
):
    # rep2 owns the lead here, so `rep2` in the actor list is replaced by `rep`, another rep.
    org.rep.membership.is_away, org.rep2.membership.is_away = True, False
    org.rep.membership.save()
    org.rep2.membership.save()
    lead = make_mql() if stage == "mql" else make_sql()
    assert lead.owner == org.rep2
    org.rep.membership.is_away = False  # a valid reassignment target from now on
    org.rep.membership.save()
    person = org.rep if actor == "rep2" else getattr(org, actor)
    before = (lead.stage, lead.version, lead.owner_id, LeadEvent.objects.filter(lead=lead).count())
    client.force_login(person)
    response = act(client, lead, name, form_data(name, lead, org, reasons))
    assert response.status_code == 403
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.stage, fresh.version, fresh.owner_id, LeadEvent.objects.filter(lead=lead).count()) == before
    assert fresh.touches.count() == 0


def test_any_employee_refers_a_lead_and_is_credited(client, org):
    """The refer page (smarketing.intake; tests/intake/test_referrals.py has the rest): a new
    person becomes a lead credited to the employee; a known one is not created twice."""
    client.force_login(org.employee)
    need = "Wants a demo for 40 seats"
    response = client.post(
        reverse("refer"),
        {
            "first_name": "Rhea",
            "last_name": "Ferral",
            "email": "Rhea@Client.com",
            "company": "Client GmbH",
            "context": need,
        },
    )
    assert response.status_code == 302
    lead = Lead.objects.get(email="rhea@client.com")
    assert (lead.referrer, lead.source, lead.stage) == (org.employee, "referral", Stage.LEAD)
    assert LeadEvent.objects.get(lead=lead).data["via"] == "referral"
    again = client.post(
        reverse("refer"),
        {"first_name": "Rhea", "last_name": "Ferral", "email": "rhea@client.com", "context": "Again"},
        follow=True,
    )
    assert again.status_code == 200
    assert "you had already referred" in again.content.decode()
    assert Lead.objects.count() == 1
    bad = client.post(
        reverse("refer"), {"first_name": "", "last_name": "X", "email": "nope", "context": need}
    )
    assert bad.status_code == 400 and Lead.objects.count() == 1
