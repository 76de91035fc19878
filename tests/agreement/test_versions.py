"""Versions of the agreement: a change is proposed, both managers confirm it, and only then
is it in force; each hand-off records the version in force; any two versions compare."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from leads.models import EventType, LeadEvent
from sla import policies
from sla.models import Clock, SlaPolicy
from smarketing.agreement import versions
from smarketing.agreement.models import AgreementVersion, Reason, ReasonKind, VersionStatus
from smarketing.core.errors import ActionError
from smarketing.notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.usefixtures("default_rules")

HOT = {
    "name": "Hot MQLs",
    "priority": 10,
    "min_score": None,
    "response_hours": Decimal("4"),
    "follow_up_touches": 6,
    "follow_up_days": Decimal("5"),
    "warn_percents": [50, 80],
    "on_breach": "reassign",
    "escalate_to_manager": True,
}


@pytest.fixture
def hot(org):
    """A policy in force before versions began: every MQL, respond within 4 business hours."""
    return policies.policy_save(actor=org.sales_manager, **HOT)


def propose_one_hour(org, hot):
    return versions.agreement_propose(
        actor=org.sales_manager,
        op="sla_policy_save",
        policy_id=hot.pk,
        **{**HOT, "response_hours": Decimal("1")},
    )


def changed_rows(diff: list[dict]) -> list[tuple[str, str | None, str | None]]:
    return [
        (section["title"], row["before"], row["after"])
        for section in diff
        for row in section["rows"]
        if row["kind"] != "same"
    ]


def test_a_change_makes_a_proposed_version_with_the_right_diff_and_is_not_in_force(org, hot):
    version = propose_one_hour(org, hot)

    assert (version.number, version.status) == (2, VersionStatus.PROPOSED)
    first = AgreementVersion.objects.get(number=1)
    assert first.status == VersionStatus.IN_FORCE
    assert [change["summary"] for change in version.changes] == ["Changed SLA policy “Hot MQLs”"]
    assert version.changes[0]["by"] == org.sales_manager.pk
    # The diff says exactly what changes, in the agreement's words.
    assert changed_rows(versions.diff(first.terms, version.terms)) == [
        (
            "Sales' side: the SLA policies",
            "Hot MQLs (every other MQL): respond within 4 business hours, then 6 touches in 5 business "
            "days; warn at 50 % and 80 %; on breach: reassign to the next available rep, and tell the manager.",
            "Hot MQLs (every other MQL): respond within 1 business hour, then 6 touches in 5 business "
            "days; warn at 50 % and 80 %; on breach: reassign to the next available rep, and tell the manager.",
        )
    ]
    # Nothing is applied yet: the product still enforces 4 hours.
    assert SlaPolicy.objects.get(pk=hot.pk).response_hours == Decimal("4")


def test_unconfirmed_versions_are_not_in_force_until_both_sides_confirm(org, hot, make_mql):
    version = propose_one_hour(org, hot)
    versions.version_note_update(actor=org.sales_manager, number=2, note="Hot leads cool fast.")
    versions.version_confirm(actor=org.sales_manager, number=2)

    during = make_mql()  # handed off while version 2 waits for marketing
    assert during.agreement_version == 1
    clock = Clock.objects.get(lead=during, obligation="response")
    assert clock.policy_id == hot.pk
    assert SlaPolicy.objects.get(pk=hot.pk).response_hours == Decimal("4")
    assert versions.waiting_for(AgreementVersion.objects.get(number=2)) == ["marketing"]

    version = versions.version_confirm(actor=org.marketing_manager, number=2)

    assert version.status == VersionStatus.IN_FORCE and version.in_force_from is not None
    assert (version.sales_confirmed_by, version.marketing_confirmed_by) == (
        org.sales_manager,
        org.marketing_manager,
    )
    assert SlaPolicy.objects.get(pk=hot.pk).response_hours == Decimal("1")
    previous = AgreementVersion.objects.get(number=1)
    assert previous.status == VersionStatus.SUPERSEDED and previous.in_force_until == version.in_force_from
    assert "respond within 1 business hour," in version.terms["sla_policies"][0]["words"]


def test_a_lead_records_the_version_it_was_handed_off_under(org, hot, make_mql, agree):
    before = make_mql()
    propose_one_hour(org, hot)
    agree()
    after = make_mql()

    assert (before.agreement_version, after.agreement_version) == (1, 2)
    handoffs = dict(
        LeadEvent.objects.filter(type=EventType.QUALIFIED).values_list("lead_id", "data__agreement_version")
    )
    assert handoffs == {before.pk: 1, after.pk: 2}


def test_an_invalid_change_is_refused_with_the_services_message_and_nothing_is_stored(org, hot):
    with pytest.raises(ActionError) as refused:
        versions.agreement_propose(
            actor=org.sales_manager,
            op="sla_policy_save",
            policy_id=hot.pk,
            **{**HOT, "follow_up_touches": -1},
        )
    assert "touch" in refused.value.message.lower() or refused.value.fields
    assert not AgreementVersion.objects.filter(status=VersionStatus.PROPOSED).exists()
    assert SlaPolicy.objects.get(pk=hot.pk).follow_up_touches == 6
    with pytest.raises(ActionError, match="nothing changed"):
        versions.agreement_propose(actor=org.sales_manager, op="sla_policy_save", policy_id=hot.pk, **HOT)
    with pytest.raises(ActionError, match="Only a manager"):
        versions.agreement_propose(actor=org.rep, op="sla_policy_save", policy_id=hot.pk, **HOT)


def test_who_may_confirm_and_when(org, hot):
    propose_one_hour(org, hot)
    with pytest.raises(ActionError, match="no change note"):
        versions.version_confirm(actor=org.sales_manager, number=2)
    versions.version_note_update(
        actor=org.marketing_manager, number=2, note="Faster follow-up for hot leads."
    )
    for person in (org.rep, org.marketer, org.admin):
        with pytest.raises(ActionError, match="Only the sales manager and the marketing manager"):
            versions.version_confirm(actor=person, number=2)
    versions.version_confirm(actor=org.sales_manager, number=2)
    with pytest.raises(ActionError, match="Sales confirmed version 2 already"):
        versions.version_confirm(actor=org.other_manager, number=2)  # another sales manager

    # Another change to the proposal: what sales confirmed is not what it is now.
    versions.agreement_propose(
        actor=org.marketing_manager,
        op="commitment_update",
        team_id=org.marketing.pk,
        min_mqls=40,
        min_acceptance_percent=60,
    )
    version = AgreementVersion.objects.get(number=2)
    assert version.sales_confirmed_by is None and versions.waiting_for(version) == ["sales", "marketing"]
    assert [change["summary"] for change in version.changes] == [
        "Changed SLA policy “Hot MQLs”",
        "Marketing commitment of Marketing: 40 MQLs a week, 60% accepted",
    ]

    versions.version_withdraw(actor=org.marketing_manager, number=2)
    with pytest.raises(ActionError, match="withdrawn"):
        versions.version_confirm(actor=org.sales_manager, number=2)
    assert SlaPolicy.objects.get(pk=hot.pk).response_hours == Decimal("4")
    # The next proposal is a new version; the withdrawn one keeps its number.
    assert propose_one_hour(org, hot).number == 3


def test_the_other_side_is_told_and_everyone_hears_when_a_version_is_in_force(org, hot, agree):
    propose_one_hour(org, hot)
    waiting = Notification.objects.filter(kind=NotificationKind.AGREEMENT)
    # The managers of both sides but the one who proposed it (omanager manages another sales team).
    assert set(waiting.values_list("recipient__username", flat=True)) == {"mmanager", "omanager"}
    versions.version_note_update(actor=org.sales_manager, number=2, note="Faster.")
    versions.version_confirm(actor=org.sales_manager, number=2)
    assert waiting.filter(recipient=org.marketing_manager).count() == 1  # told once, not again
    agree()
    in_force = Notification.objects.filter(kind=NotificationKind.AGREEMENT, subject__contains="is in force")
    assert {"rep", "marketer", "smanager", "mmanager"} <= set(
        in_force.values_list("recipient__username", flat=True)
    )
    assert "technician" not in set(in_force.values_list("recipient__username", flat=True))


def test_any_two_versions_compare(org, hot, agree, reasons):
    propose_one_hour(org, hot)
    agree()
    versions.agreement_propose(
        actor=org.sales_manager,
        op="reason_save",
        kind=ReasonKind.REJECTION,
        label="Student, not a buyer",
        description="",
        loss_outcome="",
        is_active=True,
        position=9,
    )
    versions.agreement_propose(
        actor=org.sales_manager,
        op="reason_save",
        reason_id=reasons.rejection.pk,
        kind=ReasonKind.REJECTION,
        label=reasons.rejection.label,
        description="",
        loss_outcome="",
        is_active=False,
        position=reasons.rejection.position,
    )
    third = agree()
    assert Reason.objects.get(label="Student, not a buyer").is_active
    assert not Reason.objects.get(pk=reasons.rejection.pk).is_active

    one, two = (AgreementVersion.objects.get(number=n) for n in (1, 2))
    rows = changed_rows(versions.diff(one.terms, third.terms))
    titles = [title for title, _, _ in rows]
    assert titles.count("Sales' side: the SLA policies") == 1
    assert ("Reasons for rejecting an MQL", reasons.rejection.label, None) in rows
    assert ("Reasons for rejecting an MQL", None, "Student, not a buyer") in rows
    assert changed_rows(versions.diff(two.terms, third.terms)) == [
        r for r in rows if r[0] != "Sales' side: the SLA policies"
    ]
    assert versions.diff_count(versions.diff(third.terms, third.terms)) == 0


def test_a_proposal_that_can_no_longer_be_applied_is_refused_whole(org, hot, agree):
    other = policies.policy_save(actor=org.sales_manager, **{**HOT, "name": "Warm MQLs", "priority": 20})
    versions.agreement_propose(
        actor=org.sales_manager,
        op="sla_policy_save",
        policy_id=other.pk,
        **{**HOT, "name": "Warm", "priority": 20},
    )
    SlaPolicy.objects.filter(pk=other.pk).delete()  # gone behind the agreement's back
    versions.version_note_update(actor=org.sales_manager, number=2, note="Rename")
    versions.version_confirm(actor=org.sales_manager, number=2)
    with pytest.raises(ActionError, match="can't be applied any more"):
        versions.version_confirm(actor=org.marketing_manager, number=2)
    version = AgreementVersion.objects.get(number=2)
    assert version.status == VersionStatus.PROPOSED and version.marketing_confirmed_by is None


# --- pages -------------------------------------------------------------------------------------


def test_pages_propose_and_the_agreement_page_shows_the_proposal_and_then_the_new_terms(client, org, hot):
    client.force_login(org.sales_manager)
    response = client.post(
        f"/agreement/sla/policies/{hot.pk}/",
        {
            **{k: v for k, v in HOT.items() if k not in ("min_score", "warn_percents")},
            "response_hours": "2",
            "warn_percents": "50, 80",
            "escalate_to_manager": "on",
            "is_active": "on",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Proposed in version 2 of the agreement" in html
    assert SlaPolicy.objects.get(pk=hot.pk).response_hours == Decimal("4")

    html = client.get("/agreement/").content.decode()
    assert (
        "Version 1 is in force" in html and "Version 2 is proposed: waiting for sales and marketing" in html
    )
    assert "respond within 2 business hours" in html  # the proposed side of the diff
    client.post("/agreement/versions/2/note/", {"note": "Two hours is what reps can keep."})
    client.post("/agreement/versions/2/confirm/")
    client.force_login(org.rep)
    assert client.post("/agreement/versions/2/confirm/", follow=True).status_code == 200
    assert AgreementVersion.objects.get(number=2).status == VersionStatus.PROPOSED
    client.force_login(org.marketing_manager)
    html = client.post("/agreement/versions/2/confirm/", follow=True).content.decode()
    assert "Version 2 is in force now" in html
    assert SlaPolicy.objects.get(pk=hot.pk).response_hours == Decimal("2")
    client.force_login(org.employee)  # everyone reads the agreement and its history
    html = client.get("/agreement/versions/2/").content.decode()
    assert "Two hours is what reps can keep." in html and "respond within 4 business hours" in html
    assert client.get("/agreement/versions/compare/?before=1&after=2").status_code == 200
    assert client.get("/agreement/versions/compare/?before=1&after=99").status_code == 400


# --- API ----------------------------------------------------------------------------------------


def test_api_proposes_confirms_and_compares(org, hot):
    api = APIClient()
    api.force_authenticate(org.sales_manager)
    body = {**HOT, "response_hours": "1", "follow_up_days": "5"}
    response = api.put(f"/api/sla/policies/{hot.pk}/", body, format="json")
    assert response.status_code == 202
    assert response.json()["number"] == 2 and response.json()["waiting_for"] == ["sales", "marketing"]
    assert SlaPolicy.objects.get(pk=hot.pk).response_hours == Decimal("4")

    assert api.post("/api/agreement/versions/2/confirm/").status_code == 422  # no note yet
    assert api.patch("/api/agreement/versions/2/", {"note": "Faster"}, format="json").status_code == 200
    assert api.post("/api/agreement/versions/2/confirm/").json()["waiting_for"] == ["marketing"]
    api.force_authenticate(org.rep)
    assert api.post("/api/agreement/versions/2/confirm/").status_code == 403
    assert api.put(f"/api/sla/policies/{hot.pk}/", body, format="json").status_code == 403
    api.force_authenticate(org.marketing_manager)
    detail = api.post("/api/agreement/versions/2/confirm/").json()
    assert detail["status"] == "in_force" and detail["compared_with"] == 1
    assert detail["confirmations"]["sales"]["by"] == org.sales_manager.pk
    assert [row["after"] for s in detail["diff"] for row in s["rows"] if row["kind"] == "changed"] == [
        detail["terms"]["sla_policies"][0]["words"]
    ]
    listing = api.get("/api/agreement/versions/").json()
    assert [v["number"] for v in listing["results"]] == [2, 1]
    diff = api.get("/api/agreement/versions/1/diff/2/").json()
    assert (diff["before"], diff["after"], diff["changed"]) == (1, 2, 1)
    assert api.get("/api/agreement/versions/7/").status_code == 404


def test_reasons_page_proposes_a_new_reason_and_retires_one(client, org, reasons, agree):
    client.force_login(org.sales_manager)
    page = client.get("/agreement/reasons/").content.decode()
    assert reasons.rejection.label in page and "Propose the reason" in page
    added = client.post(
        "/agreement/reasons/add/",
        {"kind": "rejection", "label": "Buys through a partner", "position": 5, "is_active": "on"},
        follow=True,
    )
    assert "Proposed in version 2 of the agreement: Added rejection reason “Buys through a partner”" in (
        added.content.decode()
    )
    duplicate = client.post(
        "/agreement/reasons/add/",
        {"kind": "rejection", "label": reasons.rejection.label.upper(), "position": 1},
    )
    assert duplicate.status_code == 400 and "is on the list already" in duplicate.content.decode()
    no_outcome = client.post("/agreement/reasons/add/", {"kind": "loss", "label": "Too slow", "position": 1})
    assert no_outcome.status_code == 400 and "recycled or disqualified" in no_outcome.content.decode()
    retired = client.post(
        f"/agreement/reasons/{reasons.rejection.pk}/",
        {"kind": "loss", "label": reasons.rejection.label, "position": 0},  # the kind is not changeable
    )
    assert retired.status_code == 302
    assert not Reason.objects.filter(label="Buys through a partner").exists()
    version = agree()
    assert [change["summary"] for change in version.changes] == [
        "Added rejection reason “Buys through a partner”",
        f"Retired rejection reason “{reasons.rejection.label}”",
    ]
    assert Reason.objects.get(label="Buys through a partner").code == "buys-through-a-partner"
    retired_reason = Reason.objects.get(pk=reasons.rejection.pk)
    assert retired_reason.kind == "rejection" and not retired_reason.is_active
    client.force_login(org.rep)
    assert (
        client.post("/agreement/reasons/add/", {"kind": "rejection", "label": "X", "position": 1}).status_code
        == 403
    )
    assert "Propose the reason" not in client.get("/agreement/reasons/").content.decode()


def test_reasons_api_proposes(org, reasons, agree):
    api = APIClient()
    api.force_authenticate(org.marketing_manager)
    made = api.post(
        "/api/reasons/",
        {"kind": "disqualification", "label": "Sanctioned country", "description": "Export rules."},
        format="json",
    )
    assert made.status_code == 202, made.json()
    assert made.json()["changes"][0]["summary"] == "Added disqualification reason “Sanctioned country”"
    renamed = api.patch(
        f"/api/reasons/{reasons.disqualification.pk}/", {"label": "Spam or a fake"}, format="json"
    )
    assert renamed.status_code == 202
    assert api.delete(f"/api/reasons/{reasons.disqualification.pk}/").status_code == 405
    agree()
    labels = set(
        Reason.objects.filter(kind="disqualification", is_active=True).values_list("label", flat=True)
    )
    assert {"Sanctioned country", "Spam or a fake"} <= labels
    api.force_authenticate(org.rep)
    assert api.post("/api/reasons/", {"kind": "rejection", "label": "X"}, format="json").status_code == 403


def test_a_version_holds_a_bounded_number_of_changes(org, hot, monkeypatch):
    monkeypatch.setattr(versions, "MAX_CHANGES", 2)
    for hours in ("1", "2"):
        versions.agreement_propose(
            actor=org.sales_manager,
            op="sla_policy_save",
            policy_id=hot.pk,
            **{**HOT, "response_hours": Decimal(hours)},
        )
    with pytest.raises(ActionError, match="holds 2 changes already"):
        versions.agreement_propose(
            actor=org.sales_manager,
            op="sla_policy_save",
            policy_id=hot.pk,
            **{**HOT, "response_hours": Decimal("3")},
        )
    assert len(AgreementVersion.objects.get(status="proposed").changes) == 2


def test_a_rewritten_note_asks_both_sides_to_confirm_again(org, hot):
    """A version goes into force with what both sides confirmed: the sales manager cannot
    rewrite the note after marketing confirmed and then put it in force alone."""
    version = propose_one_hour(org, hot)
    versions.version_note_update(
        actor=org.sales_manager, number=version.number, note="Hot leads go cold fast"
    )
    versions.version_confirm(actor=org.marketing_manager, number=version.number)

    rewritten = versions.version_note_update(
        actor=org.sales_manager, number=version.number, note="Reps asked for it (marketing never saw this)"
    )

    assert rewritten.marketing_confirmed_by is None and rewritten.sales_confirmed_by is None
    versions.version_confirm(actor=org.sales_manager, number=version.number)
    version.refresh_from_db()
    assert version.status == VersionStatus.PROPOSED  # marketing has not confirmed this note
    asked = Notification.objects.filter(recipient=org.marketing_manager, kind=NotificationKind.AGREEMENT)
    assert any("confirmation" in n.subject for n in asked.order_by("-id")[:1])
    versions.version_confirm(actor=org.marketing_manager, number=version.number)
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_FORCE
    assert version.note == "Reps asked for it (marketing never saw this)"


def test_the_same_note_again_changes_nothing(org, hot):
    version = propose_one_hour(org, hot)
    versions.version_note_update(actor=org.sales_manager, number=version.number, note="Why")
    versions.version_confirm(actor=org.marketing_manager, number=version.number)
    again = versions.version_note_update(actor=org.sales_manager, number=version.number, note=" Why ")
    assert again.marketing_confirmed_by == org.marketing_manager
