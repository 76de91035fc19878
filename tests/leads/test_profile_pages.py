"""Creating, editing and merging leads through the pages: validation and duplicate
protection from the services, the input kept on refusal, nothing written when refused."""

from __future__ import annotations

import pytest

from leads import selectors, services
from leads.models import Engagement, EventType, Lead, LeadEvent, Stage
from smarketing.org.models import Source
from tests.factories import CampaignFactory

# TEMPORARY `urls` mark: remove it once lead-new, lead-edit and lead-merge are in leads/urls.py.
pytestmark = [pytest.mark.django_db]

NEW = "/leads/new/"


def edit_url(lead):
    return f"/leads/{lead.pk}/edit/"


def merge_url(lead):
    return f"/leads/{lead.pk}/merge/"


def new_lead(**overrides):
    return {
        "email": " Ann.Lee@Acme.example ",
        "first_name": "Ann",
        "last_name": "Lee",
        "phone": "+49 30 5550101",
        "company": "Acme GmbH",
        "job_title": "Head of Operations",
        "company_size": "250",
        "country": "de",
        "website": "https://acme.example",
        "source": Source.EVENT,
        **overrides,
    }


def profile_of(lead, **overrides):
    values = {
        name: getattr(lead, name) if getattr(lead, name) is not None else ""
        for name in ("email", *services.PROFILE_FIELDS)
    }
    return {**values, "version": lead.version, **overrides}


# --- create ------------------------------------------------------------------------------------


def test_marketer_creates_a_lead_with_its_first_touch(client, org):
    # Given a marketer and a campaign
    campaign = CampaignFactory(name="Trade fair 2026")
    client.force_login(org.marketer)
    # When they fill in the new-lead form
    assert client.get(NEW).status_code == 200
    response = client.post(NEW, new_lead(campaign=campaign.pk))
    # Then the lead exists, normalised, in stage lead, with its first touch and a `created` event
    lead = Lead.objects.get(email="ann.lee@acme.example")
    assert response.status_code == 302 and response.url == f"/leads/{lead.pk}/"
    assert (lead.stage, lead.source, lead.campaign, lead.country) == (
        Stage.LEAD,
        Source.EVENT,
        campaign,
        "DE",
    )
    assert lead.created_by == org.marketer
    event = LeadEvent.objects.get(lead=lead, type=EventType.CREATED)
    assert event.actor == org.marketer
    assert event.data["via"] == "manual" and event.data["campaign"] == campaign.pk
    assert "Created Ann Lee" in client.get(response.url).content.decode()


def test_an_email_equal_after_normalisation_is_refused_with_a_link(client, org, make_lead):
    # Given a lead with this email
    existing = make_lead(email="ann.lee@acme.example")
    client.force_login(org.marketer)
    # When a marketer creates it again, in other case and with spaces
    response = client.post(NEW, new_lead(email="  ANN.LEE@acme.EXAMPLE"))
    # Then it is refused with the service's message and a link to the existing lead
    assert response.status_code == 400
    html = response.content.decode()
    assert f"A lead with the email ann.lee@acme.example already exists (lead {existing.pk})." in html
    assert f'href="/leads/{existing.pk}/"' in html
    assert "ANN.LEE@acme.EXAMPLE" in html  # what was typed is kept
    assert Lead.objects.count() == 1


def test_a_likely_duplicate_is_warned_about_then_created_when_confirmed(client, org, make_lead):
    # Given a lead with the same phone, and one with the same name at the same company
    same_phone = make_lead(phone="+49 30 5550101", first_name="Bob", last_name="Other", company="Else")
    same_name = make_lead(first_name="ANN", last_name="lee", company="acme gmbh")
    client.force_login(org.marketer)
    # When a marketer creates the lead
    response = client.post(NEW, new_lead())
    # Then they are warned, with links to both, and nothing is written
    assert response.status_code == 200
    html = response.content.decode()
    assert "This may be someone we already know" in html
    assert f'href="/leads/{same_phone.pk}/"' in html and f'href="/leads/{same_name.pk}/"' in html
    assert "same phone" in html and "same name and company" in html
    assert 'type="checkbox" name="confirm_duplicate"' in html
    assert 'value="Head of Operations"' in html
    assert not Lead.objects.filter(email="ann.lee@acme.example").exists()
    # When they confirm it is a different person
    response = client.post(NEW, new_lead(confirm_duplicate="on"))
    # Then the lead is created
    assert response.status_code == 302
    assert Lead.objects.filter(email="ann.lee@acme.example").exists()


def test_merged_away_leads_are_not_likely_duplicates(client, org, make_lead):
    survivor = make_lead()
    merged = make_lead(phone="+49 30 5550101")
    services.lead_merge(survivor_id=survivor.pk, other_id=merged.pk, actor=org.marketer)
    survivor.refresh_from_db()
    assert survivor.phone == "+49 30 5550101"  # filled from the merged lead
    client.force_login(org.marketer)
    html = client.post(NEW, new_lead()).content.decode()
    assert f'href="/leads/{survivor.pk}/"' in html
    assert f'href="/leads/{merged.pk}/"' not in html


def test_invalid_email_and_country_are_refused_keeping_the_input(client, org):
    client.force_login(org.marketer)
    response = client.post(NEW, new_lead(email="ann-at-acme", country="Germany"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "Use a two-letter ISO country code, for example DE or US." in html
    assert 'value="ann-at-acme"' in html and 'value="Germany"' in html and 'value="Acme GmbH"' in html
    assert not Lead.objects.exists()


def test_a_missing_email_is_refused_with_the_services_words(client, org):
    client.force_login(org.marketer)
    response = client.post(NEW, new_lead(email=""))
    assert response.status_code == 400
    assert "An email address is required." in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.parametrize("who", ["rep", "sales_manager", "employee"])
def test_only_marketing_creates_leads(client, org, who):
    client.force_login(getattr(org, who))
    assert client.get(NEW).status_code == 403
    response = client.post(NEW, new_lead())
    assert response.status_code == 403
    assert "Only marketing can create leads." in response.content.decode()
    assert not Lead.objects.exists()


def test_the_marketing_manager_creates_leads_too(client, org):
    client.force_login(org.marketing_manager)
    assert client.post(NEW, new_lead()).status_code == 302
    assert Lead.objects.get().created_by == org.marketing_manager


def test_the_new_lead_page_runs_a_constant_number_of_queries(client, org, django_assert_max_num_queries):
    CampaignFactory.create_batch(20)
    client.force_login(org.marketer)
    with django_assert_max_num_queries(8):
        response = client.get(NEW)
    assert response.status_code == 200


def test_login_is_required(client):
    response = client.get(NEW)
    assert response.status_code == 302 and "/login/" in response.url


# --- edit --------------------------------------------------------------------------------------


def test_marketer_edits_a_lead_and_the_diff_is_recorded(client, org, make_lead):
    lead = make_lead(phone="")
    client.force_login(org.marketer)
    page = client.get(edit_url(lead)).content.decode()
    assert f'value="{lead.email}"' in page and f'name="version" value="{lead.version}"' in page
    old_title = lead.job_title
    response = client.post(edit_url(lead), profile_of(lead, job_title="CTO", phone="+1 555 0101"))
    assert response.status_code == 302 and response.url == f"/leads/{lead.pk}/"
    after = Lead.objects.get(pk=lead.pk)
    assert (after.job_title, after.phone, after.version) == ("CTO", "+1 555 0101", lead.version + 1)
    event = LeadEvent.objects.get(lead=lead, type=EventType.UPDATED)
    assert event.actor == org.marketer
    assert event.data["changes"] == {"job_title": [old_title, "CTO"], "phone": ["", "+1 555 0101"]}


def test_a_stale_edit_is_refused_and_changes_nothing(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.marketer)
    # Someone else saves first
    services.lead_update(lead_id=lead.pk, actor=org.marketer2, job_title="VP Sales")
    response = client.post(edit_url(lead), profile_of(lead, job_title="CTO"))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone changed this lead since you loaded it" in html
    assert 'value="CTO"' in html
    assert Lead.objects.get(pk=lead.pk).job_title == "VP Sales"
    assert LeadEvent.objects.filter(lead=lead, type=EventType.UPDATED).count() == 1


def test_a_rep_cannot_edit_a_marketing_lead(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.rep)
    assert client.get(edit_url(lead)).status_code == 403
    response = client.post(edit_url(lead), profile_of(lead, job_title="CTO"))
    assert response.status_code == 403
    assert "You cannot edit this lead" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).job_title != "CTO"
    assert not LeadEvent.objects.filter(lead=lead, type=EventType.UPDATED).exists()


def test_the_owner_rep_edits_their_mql(client, org, make_mql):
    lead = make_mql()
    client.force_login(org.rep)
    response = client.post(edit_url(lead), profile_of(lead, job_title="CTO"))
    assert response.status_code == 302
    assert LeadEvent.objects.get(lead=lead, type=EventType.UPDATED).actor == org.rep


def test_editing_to_another_leads_email_is_refused_with_a_link(client, org, make_lead):
    other, lead = make_lead(), make_lead()
    client.force_login(org.marketer)
    response = client.post(edit_url(lead), profile_of(lead, email=other.email.upper()))
    assert response.status_code == 400
    assert f'href="/leads/{other.pk}/"' in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).email == lead.email


def test_edit_warns_about_likely_duplicates_but_not_about_the_lead_itself(client, org, make_lead):
    other = make_lead(phone="+1 555 0199")
    lead = make_lead(phone="+1 555 0101")
    client.force_login(org.marketer)
    # Saving without touching phone, name or company: no warning about itself
    assert client.post(edit_url(lead), profile_of(lead, job_title="CTO")).status_code == 302
    lead.refresh_from_db()
    # Taking the other lead's phone: warned, nothing saved
    response = client.post(edit_url(lead), profile_of(lead, phone=other.phone))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/leads/{other.pk}/"' in html and "same phone" in html
    assert Lead.objects.get(pk=lead.pk).phone == "+1 555 0101"
    # Confirmed: saved
    response = client.post(edit_url(lead), profile_of(lead, phone=other.phone, confirm_duplicate="on"))
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).phone == other.phone


# --- merge -------------------------------------------------------------------------------------


def test_marketer_merges_two_leads_and_both_histories_stay_on_the_survivor(client, org, make_lead):
    # Given two leads for the same person, each with an engagement
    survivor = make_lead(phone="")
    other = make_lead(phone="+49 30 5550101")
    client.force_login(org.marketer)
    # When the marketer finds the other by email, they see both side by side
    page = client.get(merge_url(survivor), {"other": other.email.upper()})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Side by side" in html and other.email in html and survivor.email in html
    # When they keep this lead
    response = client.post(
        merge_url(survivor), {"other": other.pk, "survivor": "this", "note": "Same person"}
    )
    # Then the survivor has both leads' engagements, the other points to it, both events exist
    assert response.status_code == 302 and response.url == f"/leads/{survivor.pk}/"
    assert Engagement.objects.filter(lead=survivor).count() == 2
    other.refresh_from_db()
    assert other.merged_into_id == survivor.pk
    assert Lead.objects.get(pk=survivor.pk).phone == "+49 30 5550101"
    merged = LeadEvent.objects.get(lead=survivor, type=EventType.MERGED)
    assert merged.actor == org.marketer and merged.note == "Same person"
    assert LeadEvent.objects.filter(lead=other, type=EventType.MERGED_INTO).exists()
    timeline = list(selectors.lead_timeline(survivor))
    assert {e.lead_id for e in timeline if e.type == EventType.CREATED} == {survivor.pk, other.pk}
    assert "Both histories are on this page" in client.get(response.url).content.decode()


def test_the_other_lead_may_survive(client, org, make_lead):
    lead, other = make_lead(), make_lead()
    client.force_login(org.marketing_manager)
    response = client.post(merge_url(lead), {"other": other.email, "survivor": "other"})
    assert response.status_code == 302 and response.url == f"/leads/{other.pk}/"
    assert Lead.objects.get(pk=lead.pk).merged_into_id == other.pk
    assert Engagement.objects.filter(lead=other).count() == 2


def test_a_rep_cannot_merge(client, org, make_lead):
    lead, other = make_lead(), make_lead()
    client.force_login(org.rep)
    assert client.get(merge_url(lead)).status_code == 403
    response = client.post(merge_url(lead), {"other": other.pk, "survivor": "this"})
    assert response.status_code == 403
    assert "only a marketer or a manager can" in response.content.decode()
    assert Lead.objects.filter(merged_into__isnull=False).count() == 0
    assert not LeadEvent.objects.filter(type__in=[EventType.MERGED, EventType.MERGED_INTO]).exists()


def test_a_lead_cannot_be_merged_with_itself(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.marketer)
    assert "Choose two different leads" in client.get(merge_url(lead), {"other": lead.pk}).content.decode()
    response = client.post(merge_url(lead), {"other": lead.pk, "survivor": "this"})
    assert response.status_code == 400
    assert "Choose two different leads to merge." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).merged_into_id is None
    assert not LeadEvent.objects.filter(type=EventType.MERGED).exists()


def test_an_unknown_other_lead_is_refused(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.marketer)
    assert (
        "No lead has the email or id"
        in client.get(merge_url(lead), {"other": "nobody@x.example"}).content.decode()
    )
    response = client.post(merge_url(lead), {"other": "nobody@x.example", "survivor": "this"})
    assert response.status_code == 400
    assert "No lead has that email or id." in response.content.decode()
    assert not LeadEvent.objects.filter(type=EventType.MERGED).exists()
