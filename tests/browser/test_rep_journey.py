"""A sales rep's day in a real browser, on the lead page rather than the queue's quick
buttons: open the queue, accept an MQL, log the follow-up touches the SLA asks for, win
the SQL with an amount and a close date; reject another MQL with a reason and a note.
Every step is checked on the page and in the database."""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from leads.models import EventType, LeadEvent, Stage, TouchKind, TouchOutcome
from sla.models import Clock, Obligation
from smarketing.core import formats
from smarketing.notifications.models import Notification, NotificationKind
from tests.browser.test_sales_journey import ARTIFACTS, login

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_action(page, title: str):
    """Unfold one action of "What you can do" on the lead page; return its <details>."""
    summary = page.locator("summary", has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
    summary.click()
    return page.get_by_role("group").filter(has=summary)


def flash(page):
    return page.locator("ul.messages").inner_text()


def events(lead):
    return list(
        LeadEvent.objects.filter(lead=lead).order_by("occurred_at", "id").values_list("type", flat=True)
    )


def test_rep_accepts_touches_and_wins_one_mql_and_rejects_another(browser, server, org, make_mql, reasons):
    win = make_mql(first_name="Ada", last_name="Winslow", company="Winslow Freight")
    bounce = make_mql(first_name="Rex", last_name="Bouncer", company="Bouncer Student Union")
    assert win.owner == bounce.owner == org.rep
    needed = settings.SLA_FOLLOW_UP_TOUCHES
    ARTIFACTS.mkdir(exist_ok=True)

    # The queue: both MQLs wait with their deadline and who handed them off.
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    login(page, server, "rep")
    queue = page.locator(
        "section", has=page.get_by_role("heading", name=re.compile("My MQLs awaiting response"))
    )
    assert "(2)" in queue.get_by_role("heading").inner_text()
    assert queue.get_by_role("row", name=re.compile("Ada Winslow")).is_visible()
    assert queue.get_by_role("row", name=re.compile("Rex Bouncer")).is_visible()
    page.screenshot(path=str(ARTIFACTS / "rep-queue.png"), full_page=True)

    # Accept Ada from her lead page, after reading the hand-off packet.
    queue.get_by_role("link", name="Ada Winslow").click()
    page.get_by_role("heading", name="Hand-off packet").wait_for()
    page.screenshot(path=str(ARTIFACTS / "rep-lead-mql.png"), full_page=True)
    open_action(page, "Accept").get_by_role("button", name="Accept", exact=True).click()
    page.get_by_text("Accepted: Ada Winslow is now your SQL.").wait_for()
    win.refresh_from_db()
    assert (win.stage, win.owner) == (Stage.SQL, org.rep)
    assert Clock.objects.get(lead=win, obligation=Obligation.RESPONSE).met_at is not None
    follow_up = Clock.objects.get(lead=win, obligation=Obligation.FOLLOW_UP)
    assert follow_up.is_running

    # Log the follow-up touches the SLA asks for with the touch form on the lead page.
    touches = [
        ("Call", "No answer", "Tried the main line."),
        ("Email", "Replied", "Sent the pricing sheet; she wants a call Thursday."),
        ("Meeting", "Meeting held", "Walked through the rollout plan with her CFO."),
    ][:needed]
    while len(touches) < needed:  # a deployment may ask for more than three
        touches.append(("Call", "Connected", f"Follow-up call {len(touches) + 1}."))
    for kind, outcome, note in touches:
        form = open_action(page, "Log a touch")
        form.get_by_label("Kind").select_option(label=kind)
        form.get_by_label("Outcome").select_option(label=outcome)
        form.get_by_label("Note").fill(note)
        form.get_by_role("button", name="Log touch").click()
        page.get_by_text("Touch logged on Ada Winslow.").wait_for()
    timeline = page.locator("ol.timeline").inner_text()
    assert "Call touch" in timeline and "No answer" in timeline and "Tried the main line." in timeline
    clocks = page.locator("section", has=page.get_by_role("heading", name="SLA clocks"))
    assert "met on time" in clocks.get_by_role("row", name=re.compile("Follow up the SQL")).inner_text()
    page.screenshot(path=str(ARTIFACTS / "lead-detail.png"), full_page=True)
    kinds, outcomes = (
        {label: v for v, label in TouchKind.choices},
        {label: v for v, label in TouchOutcome.choices},
    )
    assert list(win.touches.order_by("occurred_at", "id").values_list("kind", "outcome", "note", "by")) == [
        (kinds[k], outcomes[o], note, org.rep.pk) for k, o, note in touches
    ]
    follow_up.refresh_from_db()
    assert follow_up.met_at is not None and follow_up.met_on_time

    # The home page's "My SQLs" counts the touches.
    page.get_by_role("link", name="Home").click()
    sqls = page.locator("section", has=page.get_by_role("heading", name=re.compile("My SQLs")))
    ada_row = sqls.get_by_role("row", name=re.compile("Ada Winslow"))
    assert ada_row.get_by_role("cell").nth(2).inner_text().strip() == str(needed)
    # … and shows the follow-up's progress: met, with the touches the policy asked for.
    assert ada_row.get_by_role("cell").nth(4).inner_text().strip() == f"met: {needed} touches in time"

    # Win it: amount and close date.
    ada_row.get_by_role("link", name="Ada Winslow").click()
    form = open_action(page, "Win")
    today = timezone.localdate()
    # Today by default, in the product's date style (the picker); the form sends the ISO date.
    assert form.get_by_label("Close date").input_value() == formats.day(today)
    assert form.locator("input[name=closed_on]").input_value() == today.isoformat()
    form.get_by_label("Deal amount").fill("12500.00")
    form.get_by_label("Close date").fill(today.isoformat())
    form.get_by_label("Note").fill("Signed the two-year plan.")
    form.get_by_role("button", name="Win", exact=True).click()
    page.get_by_text("Won: Ada Winslow is a customer (€12,500).").wait_for()
    funnel = page.locator("section", has=page.get_by_role("heading", name="In the funnel")).inner_text()
    assert "Customer" in funnel and f"€12,500 on {formats.day(today)}" in funnel
    assert "amount €12,500" in page.locator("ol.timeline").inner_text()
    page.screenshot(path=str(ARTIFACTS / "rep-lead-won.png"), full_page=True)
    win.refresh_from_db()
    assert (win.stage, win.deal_amount, win.closed_on) == (Stage.CUSTOMER, Decimal("12500.00"), today)
    assert events(win) == [EventType.CREATED, EventType.QUALIFIED, EventType.ACCEPTED, EventType.WON]
    won = LeadEvent.objects.get(lead=win, type=EventType.WON)
    assert (won.actor, won.from_stage, won.note) == (org.rep, Stage.SQL, "Signed the two-year plan.")
    assert won.data == {"amount": "12500.00", "closed_on": today.isoformat()}
    assert not Clock.objects.running().filter(lead=win).exists()
    # the marketer who handed it off hears about the win
    assert Notification.objects.filter(
        recipient=org.marketer, lead=win, kind=NotificationKind.LEAD_WON
    ).exists()

    # Reject Rex from his lead page: a reason from the agreed list is required.
    page.get_by_role("link", name="Home").click()
    queue.get_by_role("link", name="Rex Bouncer").click()
    form = open_action(page, "Reject")
    form.get_by_role("button", name="Reject", exact=True).click()  # no reason: the browser refuses
    assert form.get_by_label("Why are you sending it back?").evaluate("el => !el.validity.valid")
    form.get_by_label("Why are you sending it back?").select_option(label=reasons.rejection.label)
    form.get_by_label("Note").fill("A student society, not a business.")
    form.get_by_role("button", name="Reject", exact=True).click()
    page.get_by_text(f"Rejected: Rex Bouncer went back to marketing ({reasons.rejection.label}).").wait_for()
    packet = page.locator("section", has=page.get_by_role("heading", name="Hand-off packet")).inner_text()
    assert reasons.rejection.label in packet and "A student society, not a business." in packet
    assert page.locator("section", has=page.get_by_role("heading", name="What you can do")).count() == 0
    page.screenshot(path=str(ARTIFACTS / "rep-lead-rejected.png"), full_page=True)
    bounce.refresh_from_db()
    assert (bounce.stage, bounce.owner, bounce.recycle_count) == (Stage.LEAD, None, 1)
    assert events(bounce) == [EventType.CREATED, EventType.QUALIFIED, EventType.REJECTED]
    rejected = LeadEvent.objects.get(lead=bounce, type=EventType.REJECTED)
    assert (rejected.actor, rejected.reason, rejected.note) == (
        org.rep,
        reasons.rejection,
        "A student society, not a business.",
    )
    assert not bounce.touches.exists()
    assert Notification.objects.filter(
        recipient=org.marketer, lead=bounce, kind=NotificationKind.MQL_REJECTED
    ).exists()

    # The queue is empty now; the won SQL has left "My SQLs".
    page.get_by_role("link", name="Home").click()
    assert page.get_by_text("No MQLs are waiting for you.").is_visible()
    assert page.get_by_text("No SQLs yet.").is_visible()
    page.screenshot(path=str(ARTIFACTS / "rep-queue-done.png"), full_page=True)
