"""A sales manager reassigns an MQL in a real browser: finds it on the team page and the
lead list, gives it to another rep on the lead page with a note, and the new owner finds
it in their queue and inbox. (The dashboard, its filters and drill-down are driven by
test_dashboard_browser.py; editing an SLA policy by test_agreement_browser.py.)"""

from __future__ import annotations

import os
import re

import pytest

from leads.models import EventType, LeadEvent, Stage
from sla.models import Clock, Obligation
from smarketing.notifications.models import Notification, NotificationKind
from tests.browser.conftest import open_as as login
from tests.browser.test_rep_journey import open_action
from tests.browser.test_sales_journey import ARTIFACTS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def name_people(org):
    """Known names: the factory's are random."""
    for user, first, last in ((org.rep, "Ravi", "Rao"), (org.rep2, "Sofia", "Silva")):
        user.first_name, user.last_name = first, last
        user.save()


def team_row(page, rep_name):
    cells = page.get_by_role("row", name=re.compile(rep_name)).get_by_role("cell")
    return [cells.nth(i).inner_text().strip() for i in range(cells.count())]


def test_manager_reassigns_an_mql_and_the_new_owner_sees_it(browser, server, org, make_mql):
    name_people(org)
    mona = make_mql(first_name="Mona", last_name="Mover", company="Mover Logistics")
    assert mona.owner == org.rep  # routed while Sofia was away
    org.rep2.membership.is_away = False  # she is back: she can take leads now
    org.rep2.membership.save()
    response = Clock.objects.get(lead=mona, obligation=Obligation.RESPONSE)
    ARTIFACTS.mkdir(exist_ok=True)

    # The manager lands on the dashboard; "My team" shows who carries what.
    page = login(browser, server, "smanager", landing="/reports/")
    page.get_by_role("link", name="My team").click()
    page.wait_for_url(f"{server.url}/team/")
    assert team_row(page, "Ravi Rao")[1:4] == ["1", "0", "yes"]
    assert team_row(page, "Sofia Silva")[1:4] == ["0", "0", "yes"]
    page.screenshot(path=str(ARTIFACTS / "manager-team.png"), full_page=True)

    # Ravi's open MQLs, from the lead list filtered by owner.
    page.get_by_role("link", name="Leads").click()
    page.get_by_label("Owner").select_option(label="Ravi Rao")
    # Stages are checkboxes in a drop-down: a plain click picks one.
    page.get_by_text("Any stage").click()
    page.get_by_label("MQL", exact=True).check()
    page.get_by_role("button", name="Find").click()
    page.get_by_text("1 lead matches").wait_for()
    page.get_by_role("link", name="Mona Mover").click()

    # Reassign on the lead page: the form offers the other available reps, and a note.
    form = open_action(page, "Reassign")
    owners = form.get_by_label("New owner").locator("option").all_inner_texts()
    assert "Sofia Silva" in owners and "Ravi Rao" not in owners  # not the current owner
    form.get_by_label("New owner").select_option(label="Sofia Silva")
    form.get_by_label("Note").fill("Ravi is at the trade fair all week; Sofia covers Logistics.")
    page.screenshot(path=str(ARTIFACTS / "manager-reassign-form.png"), full_page=True)
    form.get_by_role("button", name="Reassign", exact=True).click()
    page.get_by_text("Reassigned Mona Mover to Sofia Silva.").wait_for()
    funnel = page.locator("section", has=page.get_by_role("heading", name="In the funnel")).inner_text()
    assert re.search(r"Owner\s+Sofia Silva", funnel)
    timeline = page.locator("ol.timeline").inner_text()
    assert "Reassigned" in timeline and "assigned by manager" in timeline
    assert "Ravi is at the trade fair all week" in timeline
    page.screenshot(path=str(ARTIFACTS / "manager-reassign.png"), full_page=True)

    # In the database: new owner, one audit event, the running clock went with the lead.
    mona.refresh_from_db()
    assert (mona.stage, mona.owner) == (Stage.MQL, org.rep2)
    event = LeadEvent.objects.get(lead=mona, type=EventType.REASSIGNED)
    assert (event.actor, event.from_stage, event.to_stage) == (org.sales_manager, Stage.MQL, Stage.MQL)
    assert event.note == "Ravi is at the trade fair all week; Sofia covers Logistics."
    assert event.data == {"from_owner": org.rep.pk, "owner": org.rep2.pk, "routing_rule": "manager"}
    response.refresh_from_db()
    assert (response.owner, response.is_running) == (org.rep2, True)
    assert Clock.objects.filter(lead=mona, obligation=Obligation.RESPONSE).count() == 1  # kept its deadline

    # The team page agrees.
    page.get_by_role("link", name="My team").click()
    assert team_row(page, "Ravi Rao")[1] == "0" and team_row(page, "Sofia Silva")[1] == "1"

    # Sofia finds it in her queue, with a notification, and can answer it.
    sofia = login(browser, server, "rep2")
    queue = sofia.locator(
        "section", has=sofia.get_by_role("heading", name=re.compile("My MQLs awaiting response"))
    )
    assert queue.get_by_role("button", name="Accept Mona Mover").is_visible()
    sofia.screenshot(path=str(ARTIFACTS / "manager-reassign-new-owner-queue.png"), full_page=True)
    sofia.get_by_role("link", name=re.compile("Inbox")).click()
    assert sofia.get_by_text("New MQL for you: Mona Mover (Mover Logistics)").is_visible()
    assert Notification.objects.filter(
        recipient=org.rep2, lead=mona, kind=NotificationKind.MQL_ASSIGNED
    ).exists()

    # Ravi's queue no longer has it, and his lead page offers him nothing to do on it.
    ravi = login(browser, server, "rep")
    assert ravi.get_by_text("No MQLs are waiting for you.").is_visible()
    ravi.goto(f"{server.url}/leads/{mona.pk}/")
    assert ravi.get_by_role("heading", name="What you can do").count() == 0
