"""Referrals keep the referrer's context and credit (issue 22, point 4): any employee
refers someone with what they need; a new person becomes a lead through the one creation
path, a known one gets the note on their lead (never a second lead), the referrer is
credited only where the lead has no referrer yet, marketing is told once per referral,
and the context shows on the lead's page."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.models import EventType, Lead, LeadEvent, Stage
from reports import metrics
from smarketing.core.errors import ActionError
from smarketing.intake import referrals
from smarketing.intake.models import CONTEXT_MAX, Referral, ReferralOutcome
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.org.models import Source
from tests.conftest import make_org
from tests.factories import CampaignFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

NEED = "Their boiler is 20 years old; they asked about a maintenance contract."


def submit(referrer, email, context=NEED, **contact):
    return referrals.referral_submit(referrer=referrer, email=email, context=context, **contact)


def received(lead=None):
    found = Notification.objects.filter(kind=NotificationKind.REFERRAL_RECEIVED)
    return found.filter(lead=lead) if lead is not None else found


# --- a person marketing does not know ------------------------------------------------------------


def test_a_new_person_becomes_a_lead_with_the_referrer_and_marketing_is_told_once(
    org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        done = submit(
            org.employee, "  Greta.Geiger@Boilerworks.example ", first_name="Greta", last_name="Geiger"
        )

    lead = Lead.objects.get()
    assert lead.email == "greta.geiger@boilerworks.example"
    assert (lead.stage, lead.source, lead.referrer, lead.created_by) == (
        Stage.LEAD,
        Source.REFERRAL,
        org.employee,
        org.employee,
    )
    created = LeadEvent.objects.get(lead=lead)
    assert created.type == EventType.CREATED and created.data["via"] == "referral"
    referral = Referral.objects.get()
    assert (referral.lead, referral.referrer, referral.outcome, referral.credited, referral.context) == (
        lead,
        org.employee,
        ReferralOutcome.CREATED,
        True,
        NEED,
    )
    assert (referral.first_name, referral.last_name, referral.email) == (
        "Greta",
        "Geiger",
        "greta.geiger@boilerworks.example",
    )
    assert done.lead == lead and "Greta Geiger was referred" in done.message

    # Nobody in marketing owns a new lead: the marketing team hears of it, each once.
    notes = received(lead)
    assert sorted(n.recipient.username for n in notes) == ["marketer", "marketer2", "mmanager"]
    assert {n.dedupe_key for n in notes} == {f"referral:{referral.pk}"}
    note = notes.first()
    assert NEED in note.body and f"/leads/{lead.pk}/" in note.body and "new lead" in note.subject
    # Running the notification again (a redelivered task) creates nothing.
    assert referrals.referral_notify(referral.pk) == []
    assert received(lead).count() == 3


def test_nothing_is_told_before_the_commit(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit(org.employee, "later@client.example")
        assert received().count() == 0
    assert callbacks  # queued for after the commit


# --- a person marketing already knows ------------------------------------------------------------


def test_a_known_person_is_not_created_again_and_the_referrer_is_credited_when_nobody_was(
    org, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory()
    known = LeadFactory(email="ann@acme.example", source=Source.WEBSITE, campaign=campaign)
    version = known.version

    with django_capture_on_commit_callbacks(execute=True):
        done = submit(org.employee, "ANN@acme.example ", first_name="Ann", company="Acme")

    assert Lead.objects.count() == 1
    known.refresh_from_db()
    # Credited (the referrer was empty); the first touch's source and campaign untouched.
    assert (known.referrer, known.source, known.campaign, known.version) == (
        org.employee,
        Source.WEBSITE,
        campaign,
        version + 1,
    )
    referral = Referral.objects.get()
    assert (referral.lead, referral.outcome, referral.credited) == (known, ReferralOutcome.ATTACHED, True)
    # Audited on the lead's timeline, naming the referral.
    audit = LeadEvent.objects.get(lead=known, type=EventType.UPDATED)
    assert audit.actor == org.employee
    assert audit.data == {"changes": {"referrer": [None, org.employee.pk]}, "referral": referral.pk}
    assert "already known to marketing" in done.message and "you are credited" in done.message
    note = received(known).get(recipient=org.marketer)
    assert NEED in note.body and "already known" in note.subject


def test_another_colleagues_credit_is_never_overwritten(org, django_capture_on_commit_callbacks):
    first = UserFactory(username="first-referrer")
    known = LeadFactory(email="bo@acme.example", referrer=first, source=Source.REFERRAL)
    events = LeadEvent.objects.filter(lead=known).count()

    with django_capture_on_commit_callbacks(execute=True):
        done = submit(org.employee, "bo@acme.example", context="Wants a second site quoted.")

    known.refresh_from_db()
    assert known.referrer == first and Lead.objects.count() == 1
    assert LeadEvent.objects.filter(lead=known).count() == events  # no credit, no event
    referral = Referral.objects.get()
    assert (referral.outcome, referral.credited) == (ReferralOutcome.ATTACHED, False)
    assert "credited to another colleague; marketing has your note" in done.message
    assert received(known).count() == 3  # marketing still hears of the note


def test_referring_the_same_person_again_adds_the_note_and_keeps_the_credit(org):
    submit(org.employee, "cy@acme.example", context="First visit: old boiler.")
    done = submit(org.employee, "cy@acme.example", context="Second visit: they want a quote now.")
    assert Lead.objects.count() == 1
    assert list(Referral.objects.order_by("id").values_list("outcome", "credited")) == [
        (ReferralOutcome.CREATED, True),
        (ReferralOutcome.ATTACHED, False),
    ]
    assert "you are still credited" in done.message


def test_a_merged_away_email_is_attached_to_the_survivor(org):
    survivor = LeadFactory(email="dora@acme.example")
    other = LeadFactory(email="dora.private@mail.example")
    services.lead_merge(survivor_id=survivor.pk, other_id=other.pk, actor=org.marketer)

    submit(org.employee, "Dora.Private@mail.example")

    referral = Referral.objects.get()
    assert referral.lead == survivor and referral.outcome == ReferralOutcome.ATTACHED
    assert Lead.objects.count() == 2
    survivor.refresh_from_db()
    assert survivor.referrer == org.employee


def test_a_customer_already_won_is_not_credited_afterwards(org, make_sql):
    lead = make_sql(email="won@acme.example")
    services.lead_win(lead_id=lead.pk, actor=org.rep, amount="100.00", closed_on=timezone.localdate())
    done = submit(org.employee, "won@acme.example")
    lead.refresh_from_db()
    assert lead.referrer is None and not Referral.objects.get().credited
    assert "already a customer" in done.message


def test_a_win_on_the_attached_lead_credits_the_referrer(org, make_lead, django_capture_on_commit_callbacks):
    lead = make_lead(email="eve@acme.example")
    submit(org.employee, "eve@acme.example")
    services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    services.lead_accept(lead_id=lead.pk, actor=org.rep)
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_win(lead_id=lead.pk, actor=org.rep, amount="4200.00", closed_on=timezone.localdate())

    credit = Notification.objects.get(recipient=org.employee, kind=NotificationKind.REFERRAL_CONVERTED)
    assert credit.lead_id == lead.pk and "whom you referred, became a customer" in credit.body
    today = timezone.localdate()
    rows = metrics.attribution(today - dt.timedelta(days=7), today, by="referrer")
    mine = next(row for row in rows if row["key"] == org.employee.pk)
    assert (mine["leads"], mine["customers"], mine["revenue"]) == (1, 1, Decimal("4200.00"))


# --- who is told ---------------------------------------------------------------------------------------


def test_a_lead_with_sales_tells_the_marketer_who_handed_it_off_and_its_rep(
    org, make_mql, django_capture_on_commit_callbacks
):
    lead = make_mql(email="fay@acme.example")
    assert lead.qualified_by == org.marketer and lead.owner == org.rep
    with django_capture_on_commit_callbacks(execute=True):
        submit(org.employee, "fay@acme.example")
    assert sorted(n.recipient.username for n in received(lead)) == ["marketer", "rep"]


def test_a_marketer_who_refers_is_not_told_of_their_own_referral(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(org.marketer, "gil@acme.example")
    assert sorted(n.recipient.username for n in received()) == ["marketer2", "mmanager"]


# --- refusals: nothing recorded --------------------------------------------------------------------


@pytest.mark.parametrize(
    "values,field",
    [
        ({"context": "   "}, "context"),
        ({"context": "x" * (CONTEXT_MAX + 1)}, "context"),
        ({"email": "not-an-email"}, "email"),
        ({"email": " "}, "email"),
        ({"phone": "1" * 41}, "phone"),
    ],
)
def test_a_refused_referral_records_nothing(org, values, field):
    known = LeadFactory(email="hal@acme.example")
    for email in ("new@acme.example", "hal@acme.example"):
        args = {"email": email, "context": NEED, **values}
        with pytest.raises(ActionError) as refused:
            referrals.referral_submit(referrer=org.employee, **args)
        assert field in refused.value.fields
    assert Lead.objects.count() == 1 and not Referral.objects.exists()
    known.refresh_from_db()
    assert known.referrer is None


# --- the page ---------------------------------------------------------------------------------------------


def test_the_refer_page_asks_what_they_need_and_lists_what_became_of_each(client, org):
    client.force_login(org.employee)
    page = client.get(reverse("refer")).content.decode()
    assert "What do they need?" in page and "You have not referred anyone yet." in page

    missing = client.post(
        reverse("refer"), {"first_name": "Ida", "last_name": "Ide", "email": "ida@x.example"}
    )
    assert missing.status_code == 400 and "Tell marketing what they need" in missing.content.decode()
    assert not Referral.objects.exists() and not Lead.objects.exists()

    form = {"first_name": "Ida", "last_name": "Ide", "email": "ida@x.example", "context": NEED}
    response = client.post(reverse("refer"), form, follow=True)
    assert response.redirect_chain == [(reverse("refer"), 302)]
    html = response.content.decode()
    assert "Ida Ide was referred to marketing with your note" in html
    assert "New lead" in html and "Their boiler is 20 years old" in html

    LeadFactory(email="jo@x.example", first_name="Jo", last_name="Known")
    again = client.post(reverse("refer"), {**form, "email": "jo@x.example", "first_name": "Jo"}, follow=True)
    html = again.content.decode()
    assert "is already known to marketing; your note was added to their record" in html
    assert "Already known: note added" in html
    assert Lead.objects.count() == 2


def test_the_lead_page_shows_the_context_to_those_who_work_the_lead(client, org):
    other = UserFactory(username="colleague")
    submit(org.employee, "kim@acme.example", context="Asked about solar panels.")
    submit(other, "kim@acme.example", context="Also wants a heat pump.")
    lead = Lead.objects.get()
    url = reverse("lead-detail", args=[lead.pk])

    client.force_login(org.marketer)
    html = client.get(url).content.decode()
    assert "Asked about solar panels." in html and "Also wants a heat pump." in html
    assert "already known: added to this lead" in html and "credited as referrer" in html

    # An employee without a role reads where any lead is, and only their own referral's words.
    client.force_login(other)
    html = client.get(url).content.decode()
    assert "Also wants a heat pump." in html and "Asked about solar panels." not in html


def test_the_lead_page_with_referrals_runs_a_constant_number_of_queries(
    client, org, django_assert_max_num_queries
):
    lead = LeadFactory(email="lou@acme.example")
    client.force_login(org.marketer)
    url = reverse("lead-detail", args=[lead.pk])
    client.get(url)
    with django_assert_max_num_queries(60) as once:
        client.get(url)
    baseline = len(once.captured_queries)
    for n in range(5):
        submit(UserFactory(username=f"ref{n}"), "lou@acme.example", context=f"Tip {n}")
    with django_assert_max_num_queries(baseline + 1):
        client.get(url)


# --- the API ----------------------------------------------------------------------------------------------


def test_api_refers_and_lists_only_ones_own(client, org):
    client.force_login(org.employee)
    created = client.post(
        "/api/referrals/",
        {"email": "Lia@Client.example", "first_name": "Lia", "context": NEED},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    lead = Lead.objects.get(email="lia@client.example")
    assert (body["outcome"], body["lead"], body["credited"], body["stage"], body["context"]) == (
        "created",
        lead.pk,
        True,
        "lead",
        NEED,
    )
    assert body["referrer"]["id"] == org.employee.pk and "was referred" in body["message"]

    attached = client.post(
        "/api/referrals/",
        {"email": "lia@client.example", "context": "Wants it before winter."},
        content_type="application/json",
    )
    assert attached.status_code == 201 and attached.json()["outcome"] == "attached"
    assert Lead.objects.count() == 1

    submit(org.marketer, "mo@client.example")  # someone else's
    listed = client.get("/api/referrals/").json()
    assert [r["outcome"] for r in listed["results"]] == ["attached", "created"]
    client.force_login(org.marketer)
    assert [r["email"] for r in client.get("/api/referrals/").json()["results"]] == ["mo@client.example"]


@pytest.mark.parametrize(
    "body,status",
    [
        ({"email": "n@x.example"}, 400),  # no context
        ({"email": "n@x.example", "context": 5}, 400),  # not text
        ({"email": "n@x.example", "context": "x" * (CONTEXT_MAX + 1)}, 400),  # past the schema's max
        ({"email": "n@x.example", "context": NEED, "source": "ads"}, 400),  # not a referral's field
        ({"context": NEED}, 400),  # no email
        ({"email": "n@x.example", "context": "  "}, 422),  # blank: refused by the rule
        ({"email": "not-an-email", "context": NEED}, 422),
        ({"email": "n@x.example", "context": NEED, "phone": "1" * 41}, 422),
    ],
)
def test_api_refuses_bad_input_and_records_nothing(client, org, body, status):
    client.force_login(org.employee)
    response = client.post("/api/referrals/", body, content_type="application/json")
    assert response.status_code == status, response.content
    assert response.json()["error"]["message"]
    assert not Referral.objects.exists() and not Lead.objects.exists()


def test_api_list_runs_a_constant_number_of_queries(client, org, django_assert_max_num_queries):
    for n in range(6):
        submit(org.employee, f"p{n}@x.example")
    client.force_login(org.employee)
    with django_assert_max_num_queries(6):
        response = client.get("/api/referrals/")
    assert response.json()["count"] == 6


# --- two referrals of one new person at once ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_colleagues_referring_one_new_person_at_once_make_one_lead(require_postgres, product_setup):
    org = make_org()
    second = UserFactory(username="second")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def refer(user):
        try:
            barrier.wait(timeout=10)
            results.append(submit(user, "same@new.example").referral.outcome)
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refer, args=(user,)) for user in (org.employee, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(results) == [ReferralOutcome.ATTACHED, ReferralOutcome.CREATED]
    assert Lead.objects.filter(email="same@new.example").count() == 1
    lead = Lead.objects.get(email="same@new.example")
    assert Referral.objects.filter(lead=lead).count() == 2
    assert connection.vendor == "postgresql"
