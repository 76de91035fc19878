"""The sales manager changes the SLA, both managers confirm the new version of the
agreement, and the agreement page shows the new terms and the difference from the old."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from sla import policies
from sla.models import SlaPolicy
from smarketing.agreement.models import AgreementVersion, VersionStatus
from tests.browser.conftest import open_as
from tests.browser.test_sales_journey import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_edits_the_sla_both_confirm_and_the_page_shows_terms_and_diff(
    browser, server, org, default_rules
):
    hot = policies.policy_save(
        actor=org.sales_manager,
        name="Hot MQLs",
        priority=10,
        min_score=80,
        response_hours=Decimal("4"),
        follow_up_touches=6,
        follow_up_days=Decimal("5"),
        warn_percents=[50, 80],
        on_breach="reassign",
        escalate_to_manager=True,
    )
    ARTIFACTS.mkdir(exist_ok=True)

    # The sales manager proposes: hot MQLs answered within 1 business hour, not 4.
    sales = open_as(browser, server, "smanager", landing="/reports/")
    sales.goto(f"{server.url}/agreement/sla/")
    sales.get_by_role("row", name=re.compile("Hot MQLs")).get_by_role("link", name="Change").click()
    sales.get_by_label("Respond within (business hours)").fill("1")
    sales.get_by_role("button", name="Propose the change").click()
    assert sales.get_by_text("Proposed in version 2 of the agreement").is_visible()
    assert SlaPolicy.objects.get(pk=hot.pk).response_hours == Decimal("4")  # not in force yet

    sales.get_by_role("link", name="The agreement", exact=True).click()
    assert sales.get_by_role("heading", name="Version 1 is in force").is_visible()
    assert sales.get_by_role("heading", name=re.compile("Version 2 is proposed")).is_visible()
    sales.get_by_label(re.compile("Change note")).fill("Hot leads go cold within the hour.")
    sales.get_by_role("button", name="Save the note").click()
    sales.get_by_role("button", name="Confirm version 2 for sales").click()
    assert sales.get_by_text("It comes into force when marketing confirms it too").is_visible()
    assert AgreementVersion.objects.get(number=2).status == VersionStatus.PROPOSED
    sales.screenshot(path=str(ARTIFACTS / "agreement-proposed.png"), full_page=True)

    # The marketing manager reads the proposal and confirms: version 2 is in force.
    marketing = open_as(browser, server, "mmanager", landing="/reports/")
    marketing.goto(f"{server.url}/agreement/")
    proposal = marketing.locator("section.proposal")
    assert "Hot leads go cold within the hour." in proposal.inner_text()
    assert proposal.inner_text().count("not confirmed yet") == 1  # sales has, marketing not
    marketing.get_by_role("button", name="Confirm version 2 for marketing").click()
    assert marketing.get_by_text("Version 2 is in force now").is_visible()
    assert SlaPolicy.objects.get(pk=hot.pk).response_hours == Decimal("1")

    # The agreement page shows the new terms, and who confirmed them.
    assert marketing.get_by_role("heading", name="Version 2 is in force").is_visible()
    sla_terms = marketing.locator("section[aria-labelledby='sla-h']").inner_text()
    assert "Hot MQLs (score 80+): respond within 1 business hour, then 6 touches" in sla_terms
    in_force = marketing.locator("section[aria-labelledby='in-force-h']").inner_text()
    assert "confirmed by" in in_force and in_force.count("confirmed by") == 2
    assert marketing.locator("section.proposal").count() == 0

    # ... and the difference from the version before, side by side.
    marketing.get_by_role("link", name="Version 2 and what changed in it").click()
    table = marketing.get_by_role("table", name=re.compile("Sales' side: the SLA policies"))
    removed, added = table.locator("del").inner_text(), table.locator("ins").inner_text()
    assert "respond within 4 business hours" in removed and "respond within 1 business hour," in added
    assert marketing.get_by_text("Against version 1: 1 line differs").is_visible()
    marketing.screenshot(path=str(ARTIFACTS / "agreement-diff.png"), full_page=True)
