"""The marketer's day in a browser (issue 22, point 4): a note on a lead that mentions the
rep is on the lead's timeline; the rep finds the mention in their inbox with a link to the
lead; the marketer works the queue — new leads, referrals and what sales sent back — with
a count on each tab, on a laptop and on a phone."""

from __future__ import annotations

import os
import re

import pytest

from leads import services
from leads.models import EventType, LeadEvent
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.org.models import EngagementType, Source
from tests.browser.conftest import ARTIFACTS, log_in, open_as
from tests.factories import LeadFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def section(page, heading):
    return page.locator("section", has=page.get_by_role("heading", name=heading))


def test_a_note_mentions_the_rep_and_the_marketer_works_the_queue(browser, server, org, reasons):
    org.rep.first_name, org.rep.last_name = "Ravi", "Rao"
    org.rep.save()
    org.marketer.first_name, org.marketer.last_name = "Maja", "Marketer"
    org.marketer.save()
    lena = LeadFactory(first_name="Lena", last_name="Lindgren", company="Lindgren Pumps", source=Source.EVENT)
    LeadFactory(first_name="Rolf", last_name="Referred", source=Source.REFERRAL, referrer=org.employee)
    sent_back = LeadFactory(first_name="Sam", last_name="Sentback")
    services.engagement_log(
        lead_id=sent_back.pk, actor=org.marketer, type=EngagementType.WEBINAR_ATTENDED, points=20
    )
    services.lead_qualify(lead_id=sent_back.pk, actor=org.marketer)
    services.lead_reject(
        lead_id=sent_back.pk, actor=org.rep, reason=reasons.rejection, note="Student project"
    )

    # The marketer writes a note mentioning the rep on Lena's page.
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    log_in(page, server, "marketer")
    page.goto(f"{server.url}/leads/{lena.pk}/")
    notes = section(page, "Notes")
    assert "No notes yet." in notes.inner_text()
    notes.get_by_label("Note (mention a colleague with @username to tell them)").fill(
        "Met Lena at the pump fair: wants a demo next week. @rep can you call her? cc @bob"
    )
    notes.get_by_role("button", name="Add note").click()
    page.get_by_text("Note added to Lena Lindgren. Told Ravi Rao.").wait_for()
    page.get_by_text("@bob is not a colleague here; nobody was notified for it.").wait_for()
    timeline = section(page, "Timeline").locator("li.event-noted")
    assert timeline.count() == 1
    entry = timeline.inner_text()
    assert "Met Lena at the pump fair" in entry and "mentioned @rep" in entry and "Maja Marketer" in entry
    page.screenshot(path=str(ARTIFACTS / "marketer-note.png"), full_page=True)
    note = LeadEvent.objects.get(lead=lena, type=EventType.NOTED)
    assert note.actor == org.marketer and note.data["unknown"] == ["bob"]

    # The rep sees the mention in the inbox and follows its link to the lead.
    rep = open_as(browser, server, "rep")
    rep.get_by_role("link", name=re.compile("^Inbox")).click()
    row = rep.get_by_role("row", name=re.compile("Maja Marketer mentioned you in a note on Lena Lindgren"))
    assert "A colleague mentioned you in a note" in row.inner_text()
    row.get_by_role("link", name="Lena Lindgren").click()
    rep.wait_for_url(f"{server.url}/leads/{lena.pk}/")
    assert "Met Lena at the pump fair" in section(rep, "Timeline").inner_text()
    told = Notification.objects.get(kind=NotificationKind.MENTIONED)
    assert told.recipient == org.rep and f"/leads/{lena.pk}/" in told.body

    # The marketer opens the queue from the menu: three lists, each with its count.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    page.wait_for_url(f"{server.url}/queue/")
    tabs = page.get_by_role("navigation", name="Queue lists")
    assert [t.strip() for t in tabs.get_by_role("link").all_inner_texts()] == [
        "New (1)",
        "Referrals (1)",
        "Recycled (1)",
    ]
    assert page.get_by_role("link", name="Lena Lindgren").is_visible()
    page.screenshot(path=str(ARTIFACTS / "marketer-queue.png"), full_page=True)
    tabs.get_by_role("link", name=re.compile("Referrals")).click()
    referral = page.get_by_role("row", name=re.compile("Rolf Referred"))
    assert (org.employee.get_full_name() or org.employee.username) in referral.inner_text()
    tabs.get_by_role("link", name=re.compile("Recycled")).click()
    page.wait_for_url(f"{server.url}/recycled/")
    recycled = page.get_by_role("row", name=re.compile("Sam Sentback")).inner_text()
    assert reasons.rejection.label in recycled and "Student project" in recycled

    # On a phone the queue does not scroll sideways (its table scrolls in its own box).
    phone = open_as(browser, server, "marketer", width=390)
    for path in ("/queue/", "/queue/?tab=referral", "/recycled/", f"/leads/{lena.pk}/"):
        phone.goto(f"{server.url}{path}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a phone"
