"""Consent to marketing contact in the lead pages (issue 28): recorded on the new-lead form
and on the lead page (only through `consent_clean` and `lead_consent_record`), shown with
its history, filtered on in the list, written in the export; an erased person's lead shown
as the anonymous record it is."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import zoneinfo

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from leads import selectors, services
from leads.filters import LeadFilter
from leads.models import Consent, ConsentMethod, ConsentRecord, LawfulBasis, Lead
from leads.services.erasure import leads_anonymise
from smarketing.org.models import Source
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
NEW = "/leads/new/"


def answer(consent: str, *, at: str | None = None, wording: str = "Newsletter v3", basis: str = "") -> dict:
    """A lead's consent columns as the service cleans an answer that came by a form."""
    return services.consent_clean(
        {"consent": consent, "consent_at": at, "consent_wording": wording, "lawful_basis": basis},
        method=ConsentMethod.FORM,
    )


def new_lead(**overrides) -> dict:
    return {
        "email": "ann.lee@acme.example",
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "Acme GmbH",
        "source": Source.EVENT,
        **overrides,
    }


def consent_url(lead: Lead) -> str:
    return f"/leads/{lead.pk}/consent/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def field_errors(response, field_id: str) -> list[str]:
    """The messages shown next to the field with this id (core/_form.html's markup, or
    leads/_fields.html's)."""
    match = re.search(
        rf'<ul class="errorlist" id="{field_id}(?:-errors|_error)">(.*?)</ul>',
        response.content.decode(),
        re.S,
    )
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", match.group(1))] if match else []


def columns(lead: Lead) -> tuple:
    lead.refresh_from_db()
    return (lead.consent, lead.consent_at, lead.consent_method, lead.consent_wording, lead.lawful_basis)


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


# --- the new-lead form ---------------------------------------------------------------------------


def test_the_new_lead_form_records_the_persons_answer(client, org, at_now):
    # Given a marketer whose team works in New York time
    org.marketing.time_zone = "America/New_York"
    org.marketing.save()
    client.force_login(org.marketer)
    page = text(client.get(NEW))
    assert "Consent to marketing contact (optional)" in page and 'name="consent_wording"' in page
    # When they create a lead with the person's answer, given last March at 14:30 their time
    response = client.post(
        NEW,
        new_lead(consent="given", consent_at="2026-03-01T14:30", consent_wording="Newsletter v3"),
    )
    # Then the lead holds the answer, and its audit line says who recorded it and how
    lead = Lead.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"
    given_at = dt.datetime(2026, 3, 1, 14, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert columns(lead) == (
        Consent.GIVEN,
        given_at,
        ConsentMethod.BY_HAND,
        "Newsletter v3",
        LawfulBasis.CONSENT,  # given, basis left empty: consent
    )
    record = ConsentRecord.objects.get()
    assert (record.lead, record.consent, record.given_at, record.method, record.wording) == (
        lead,
        Consent.GIVEN,
        given_at,
        ConsentMethod.BY_HAND,
        "Newsletter v3",
    )
    assert (record.lawful_basis, record.recorded_by, record.recorded_at) == (
        LawfulBasis.CONSENT,
        org.marketer,
        NOW,
    )


def test_an_answer_left_empty_records_nothing_and_the_time_defaults_to_now(client, org, at_now):
    client.force_login(org.marketer)
    assert client.post(NEW, new_lead()).status_code == 302
    assert columns(Lead.objects.get()) == ("", None, "", "", "") and not ConsentRecord.objects.exists()
    # An answer without a time: given now.
    client.post(
        NEW,
        new_lead(
            email="bo@beta.example",
            first_name="Bo",
            company="Beta",
            consent="refused",
            consent_wording="Events v1",
        ),
    )
    lead = Lead.objects.get(email="bo@beta.example")
    assert columns(lead)[:3] == (Consent.REFUSED, NOW, ConsentMethod.BY_HAND)
    assert lead.lawful_basis == "" and ConsentRecord.objects.get().lead == lead


@pytest.mark.parametrize(
    "typed, field, message",
    [
        ({"consent": "given"}, "consent_wording", "Say what the person answered to"),
        ({"consent": "given", "consent_wording": "x" * 501}, "consent_wording", "longer than 500"),
        (
            {"consent": "given", "consent_wording": "V3", "consent_at": "2026-02-30"},
            "consent_at",
            "not a date",
        ),
        (
            {"consent": "given", "consent_wording": "V3", "consent_at": "2026-06-02T10:00"},
            "consent_at",
            "future",
        ),
        (
            {"consent": "given", "consent_wording": "V3", "consent_at": "1989-12-31"},
            "consent_at",
            "before 1990",
        ),
        ({"consent": "maybe", "consent_wording": "V3"}, "consent", "is not a consent answer"),
        ({"consent_wording": "V3"}, "consent", "Say whether consent was given"),
        (
            {"consent": "given", "consent_wording": "V3", "lawful_basis": "whim"},
            "lawful_basis",
            "lawful basis",
        ),
    ],
)
def test_a_bad_answer_is_shown_at_its_field_and_creates_nothing(client, org, at_now, typed, field, message):
    client.force_login(org.marketer)
    response = client.post(NEW, new_lead(**typed))
    assert response.status_code == 400
    errors = field_errors(response, f"id_{field}")
    assert errors and message in errors[0], (errors, text(response)[:2000])
    # Nothing created, and what was typed is kept.
    assert not Lead.objects.exists() and not ConsentRecord.objects.exists()
    page = response.content.decode()
    assert 'value="ann.lee@acme.example"' in page
    if typed.get("consent") == "given":
        assert '<option value="given" selected>' in page


def test_the_edit_form_has_no_consent_section(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.marketer)
    page = text(client.get(f"/leads/{lead.pk}/edit/"))
    assert 'name="consent"' not in page and "Consent to marketing contact (optional)" not in page


# --- the lead page: the Consent card ---------------------------------------------------------------


def test_the_lead_page_shows_the_answer_its_history_and_a_do_not_contact_badge(client, org, at_now):
    lead = LeadFactory(consent=answer("given", at="2026-02-01T10:00", wording="Newsletter v2"))
    services.lead_consent_record(
        lead_id=lead.pk,
        actor=org.marketer,
        consent="withdrawn",
        consent_at="2026-05-20T08:15",
        consent_wording="Unsubscribe link, newsletter v3",
    )
    client.force_login(org.rep)  # may read it, may not record an answer (a marketing lead)
    page = text(client.get(f"/leads/{lead.pk}/"))
    card = page[page.index('id="consent-h"') :]
    assert "Do not contact — consent withdrawn" in page
    assert "Withdrawn" in card and "Unsubscribe link, newsletter v3" in card and "Recorded by hand" in card
    # The history: both answers, the latest recorded first, with who recorded the second.
    history = card[card.index("<tbody>") : card.index("</tbody>")]
    assert history.index("Withdrawn") < history.index("Given") and "Web form" in history
    assert "Newsletter v2" in history and org.marketer.get_full_name() in history
    assert f'action="{consent_url(lead)}"' not in page  # no form for a rep on a marketing lead


def test_no_answer_says_so(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.marketer)
    page = text(client.get(f"/leads/{lead.pk}/"))
    assert "No answer on marketing contact recorded" in page and "Do not contact" not in page
    assert f'action="{consent_url(lead)}"' in page


def test_a_marketer_records_an_answer_by_hand(client, org, make_lead, at_now):
    lead = make_lead()
    version = lead.version
    client.force_login(org.marketer)
    response = client.post(
        consent_url(lead),
        {
            "consent": "withdrawn",
            "consent_at": "2026-05-31T17:00",
            "consent_wording": "Phone call: no more emails",
            "lawful_basis": "",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/#consent-h"
    given_at = dt.datetime(2026, 5, 31, 17, 0, tzinfo=zoneinfo.ZoneInfo(org.marketing.time_zone))
    assert columns(lead) == (
        Consent.WITHDRAWN,
        given_at,
        ConsentMethod.BY_HAND,
        "Phone call: no more emails",
        "",
    )
    assert lead.version == version + 1 and lead.no_contact
    record = ConsentRecord.objects.get(lead=lead)
    assert (record.consent, record.given_at, record.method, record.recorded_by) == (
        Consent.WITHDRAWN,
        given_at,
        ConsentMethod.BY_HAND,
        org.marketer,
    )
    page = text(client.get(response["Location"]))
    assert "Consent recorded for" in page and "Do not contact — consent withdrawn" in page


def test_an_older_answer_goes_to_the_history_only(client, org, at_now):
    lead = LeadFactory(consent=answer("withdrawn", at="2026-05-01T10:00"))
    client.force_login(org.marketer)
    response = client.post(
        consent_url(lead), {"consent": "given", "consent_at": "2026-01-10T10:00", "consent_wording": "V1"}
    )
    assert response.status_code == 302
    assert columns(lead)[:2] == (Consent.WITHDRAWN, dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC))
    assert list(ConsentRecord.objects.filter(lead=lead).values_list("consent", flat=True).order_by("id")) == [
        Consent.WITHDRAWN,
        Consent.GIVEN,
    ]
    assert "older than the one on record" in text(client.get(response["Location"]))


def test_a_bad_answer_on_the_lead_page_is_shown_at_its_field(client, org, make_lead, at_now):
    lead = make_lead()
    before = columns(lead)
    client.force_login(org.marketer)
    response = client.post(
        consent_url(lead), {"consent": "given", "consent_at": "tomorrow", "consent_wording": "V3"}
    )
    assert response.status_code == 400
    assert "not a date and time" in field_errors(response, "id_consent_consent_at")[0]
    page = response.content.decode()
    assert 'value="tomorrow"' in page and "<details open>" in page  # kept, and the form open
    assert columns(lead) == before and not ConsentRecord.objects.exists()
    response = client.post(consent_url(lead), {"consent": "", "consent_wording": "V3"})
    assert "Say whether consent was given" in field_errors(response, "id_consent_consent")[0]
    assert not ConsentRecord.objects.exists()


@pytest.mark.parametrize("who", ["rep", "rep2", "employee"])
def test_someone_who_may_not_edit_the_profile_is_refused_and_nothing_changes(client, org, make_lead, who):
    lead = make_lead()  # with marketing: only marketing edits it
    before = (columns(lead), lead.version)
    client.force_login(getattr(org, who))
    response = client.post(consent_url(lead), {"consent": "withdrawn", "consent_wording": "Asked by phone"})
    assert response.status_code == 403
    assert "You cannot record consent for this lead" in text(response)
    assert (columns(lead), lead.version) == before and not ConsentRecord.objects.exists()


def test_the_owner_rep_records_an_answer_on_their_mql_another_rep_may_not(client, org, make_mql):
    lead = make_mql()
    client.force_login(org.rep2)
    assert (
        client.post(consent_url(lead), {"consent": "refused", "consent_wording": "Call"}).status_code == 403
    )
    assert f'action="{consent_url(lead)}"' not in text(client.get(f"/leads/{lead.pk}/"))
    client.force_login(org.rep)
    assert f'action="{consent_url(lead)}"' in text(client.get(f"/leads/{lead.pk}/"))
    assert (
        client.post(consent_url(lead), {"consent": "refused", "consent_wording": "Call"}).status_code == 302
    )
    assert ConsentRecord.objects.get(lead=lead).recorded_by == org.rep


def test_recording_needs_a_post_and_a_login(client, org, make_lead):
    lead = make_lead()
    response = client.post(consent_url(lead), {"consent": "given", "consent_wording": "V3"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(org.marketer)
    assert client.get(consent_url(lead)).status_code == 405
    assert not ConsentRecord.objects.exists()


# --- privacy: the link for managers, and an erased person ------------------------------------------


@pytest.mark.parametrize(
    "who, sees",
    [
        ("marketing_manager", True),
        ("sales_manager", True),
        ("admin", True),
        ("marketer", False),
        ("rep", False),
    ],
)
def test_managers_get_a_link_to_the_persons_privacy_page(client, org, make_lead, who, sees):
    lead = make_lead()
    client.force_login(getattr(org, who))
    response = client.get(f"/leads/{lead.pk}/")
    assert response.status_code == 200
    url = reverse("privacy:person", args=[lead.pk])
    assert url == f"/privacy/people/{lead.pk}/"
    assert (f'href="{url}"' in response.content.decode()) == sees
    assert ("Privacy: export or erase" in response.content.decode()) == sees


@pytest.fixture
def erased(org, make_mql):
    lead = make_mql(first_name="Zebulon", last_name="Quixwell")
    services.lead_consent_record(lead_id=lead.pk, actor=org.marketer, consent="given", consent_wording="V3")
    with transaction.atomic():
        leads_anonymise([lead.pk], now=timezone.now())
    lead.refresh_from_db()
    return lead


@pytest.mark.parametrize("who", ["marketer", "rep", "sales_manager"])
def test_an_erased_persons_lead_is_an_anonymous_record_with_nothing_to_write(client, org, erased, who):
    client.force_login(getattr(org, who))
    response = client.get(f"/leads/{erased.pk}/")
    page = text(response)
    day = re.sub(r"\s+", " ", timezone.localtime(erased.erased_at).strftime("%a %d %b %Y"))
    assert f"This person was erased on {day}; this is an anonymous record kept for the reports" in page
    assert f"Erased person (lead {erased.pk})" in page and "Zebulon" not in page and "Quixwell" not in page
    for form in (
        f"/leads/{erased.pk}/edit/",
        f"/leads/{erased.pk}/merge/",
        f"/leads/{erased.pk}/notes/",
        f"/leads/{erased.pk}/act/engagement/",
        consent_url(erased),
    ):
        assert f'="{form}"' not in page, form
    # The answers recorded before stay (the wording is the organisation's own).
    assert "V3" in page[page.index('id="consent-h"') :]


def test_nothing_is_recorded_on_an_erased_persons_lead(client, org, erased):
    before = (columns(erased), erased.version, ConsentRecord.objects.count())
    client.force_login(org.marketer)
    response = client.post(consent_url(erased), {"consent": "withdrawn", "consent_wording": "Asked"})
    assert response.status_code == 409 and "was erased" in text(response)
    edit = client.get(f"/leads/{erased.pk}/edit/")
    assert edit.status_code == 409 and "This person was erased on" in text(edit)
    assert (columns(erased), erased.version, ConsentRecord.objects.count()) == before


# --- the list: a consent filter and a marker --------------------------------------------------------


@pytest.fixture
def answered(org, at_now):
    return {
        "none": LeadFactory(last_name="Nobody"),
        "given": LeadFactory(last_name="Givens", consent=answer("given")),
        "refused": LeadFactory(last_name="Refuser", consent=answer("refused")),
        "withdrawn": LeadFactory(last_name="Withdrew", consent=answer("withdrawn")),
        "withdrawn2": LeadFactory(last_name="Alsowithdrew", consent=answer("withdrawn")),
    }


def listed(client, **params) -> set[str]:
    page = client.get("/leads/", params)
    assert page.status_code == 200, text(page)[:500]
    return set(re.findall(r'<a href="/leads/\d+/">[^<]* ([A-Z][a-z]+)</a>', page.content.decode()))


def test_the_list_filters_on_consent(client, org, answered):
    client.force_login(org.rep)
    assert listed(client, consent="withdrawn") == {"Withdrew", "Alsowithdrew"}
    assert listed(client, consent="refused") == {"Refuser"}
    assert listed(client, consent="given") == {"Givens"}
    assert listed(client, consent="not_recorded") == {"Nobody"}
    assert listed(client, consent="no_contact") == {"Refuser", "Withdrew", "Alsowithdrew"}
    assert listed(client) == {"Nobody", "Givens", "Refuser", "Withdrew", "Alsowithdrew"}
    page = client.get("/leads/", {"consent": "withdrawn"}).content.decode()
    assert '<option value="withdrawn" selected>Withdrawn</option>' in page
    bad = client.get("/leads/", {"consent": "maybe"})
    assert bad.status_code == 400 and "Consent to marketing contact:" in text(bad)


def test_no_contact_leads_carry_a_marker_in_the_list(client, org, answered):
    client.force_login(org.marketer)
    rows = {
        name: row
        for row in client.get("/leads/").content.decode().split("<tr>")
        for name in re.findall(r'<a href="/leads/\d+/">[^<]* ([A-Z][a-z]+)</a>', row)
    }
    marked = {name for name, row in rows.items() if 'class="badge no-contact"' in row}
    assert marked == {"Refuser", "Withdrew", "Alsowithdrew"}


def test_the_filter_is_the_same_for_the_api_and_keeps_to_the_answer(org, answered):
    found = LeadFilter({"consent": "withdrawn"}, queryset=selectors.lead_list()).qs
    assert set(found) == {answered["withdrawn"], answered["withdrawn2"]}


@pytest.mark.parametrize("rows", [2, 12])
def test_the_filtered_list_runs_a_constant_number_of_queries(
    client, org, at_now, rows, django_assert_max_num_queries
):
    for n in range(rows):
        LeadFactory(email=f"w{n}@example.com", consent=answer("withdrawn"))
        LeadFactory(email=f"g{n}@example.com", consent=answer("given"))
    client.force_login(org.rep)
    # The session and user, the filter form's teams and owners, the count, the page's leads
    # and their owners and campaigns, the scoring definition: none per row.
    with django_assert_max_num_queries(12):
        response = client.get("/leads/", {"consent": "withdrawn"})
    assert response.content.decode().count('class="badge no-contact"') == rows


def _plan(queryset) -> str:
    """PostgreSQL's plan with sequential scans priced out (as tests/leads/test_list_queries.py)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_consent_filter_is_served_by_its_index(org, at_now):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    for _ in range(3):
        LeadFactory(consent=answer("withdrawn"))
        LeadFactory(consent=answer("refused"))
        LeadFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")  # the estimates of the rows just written

    def filtered(value):
        return LeadFilter({"consent": value}, queryset=selectors.lead_list()).qs

    # One answer: the list's page, newest first, from the partial index (on a few rows the
    # planner may read it by bitmap and sort; on many it walks it in order).
    for value in ("given", "refused", "withdrawn"):
        plan = _plan(filtered(value).order_by("-created_at", "-id")[:50])
        assert "lead_consent_newest" in plan, plan
    # Refused or withdrawn: the index holds them too (the planner may rather walk the
    # newest leads when they are many); "not recorded" is most leads: walked newest first.
    assert "lead_consent_newest" in _plan(filtered("no_contact").order_by().values("pk"))


# --- the export --------------------------------------------------------------------------------------


def test_the_export_has_the_consent_columns_blank_where_not_recorded(client, org, settings, at_now):
    settings.SMARKETING_TIME_ZONE = "Europe/Berlin"
    LeadFactory(email="none@example.com")
    LeadFactory(
        email="basis@example.com",
        consent=answer(
            "withdrawn", at="2026-05-02T10:30:00+00:00", wording="Newsletter v3", basis="legitimate_interest"
        ),
    )
    client.force_login(org.marketer)
    response = client.get("/leads/export.csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = {row["Email"]: row for row in csv.DictReader(io.StringIO(body))}
    consent = ("Consent", "Consent at", "Consent method", "Consent wording", "Lawful basis")
    assert [rows["basis@example.com"][c] for c in consent] == [
        "withdrawn",
        "2026-05-02T12:30:00+02:00",  # in the organisation's time zone, as every time there
        "form",
        "Newsletter v3",
        "legitimate_interest",
    ]
    assert [rows["none@example.com"][c] for c in consent] == ["", "", "", "", ""]
    assert {row["Email"] for row in csv.DictReader(io.StringIO(body)) if row["Consent"] == "withdrawn"} == {
        "basis@example.com"
    }
    only = client.get("/leads/export.csv", {"consent": "not_recorded"})
    assert "basis@example.com" not in b"".join(only.streaming_content).decode()
