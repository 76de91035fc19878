"""Notes on a lead, with @mentions (issue 22, the marketer's day).

A note is a `noted` LeadEvent: a line of history that moves nothing. It is on the lead's
timeline (and on the survivor's after a merge), tells the colleagues it mentions once,
after commit, with a link to the lead; names that tell nobody are reported, the same on
the page and in the API."""

from __future__ import annotations

import html

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from leads import selectors, services
from leads.models import EventType, Lead, LeadEvent, Stage
from leads.services.notes import MENTIONS_MAX, NOTE_MAX, mentioned_names
from leads.stages import TRANSITIONS
from leads.tasks import notifications_for_event
from smarketing.core.errors import ActionError
from smarketing.notifications.models import Notification, NotificationKind
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def notes_of(lead) -> list[LeadEvent]:
    return list(LeadEvent.objects.filter(lead=lead, type=EventType.NOTED))


# --- the service ------------------------------------------------------------------------------


def test_a_note_is_a_line_of_history_that_moves_nothing(org, make_mql, django_capture_on_commit_callbacks):
    lead = make_mql(first_name="Nora", last_name="Noted")
    before = Lead.objects.get(pk=lead.pk)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.lead_note_add(
            lead_id=lead.pk, actor=org.marketer, text="  Called her: budget in May. @rep please call Tue.  "
        )
    event = result.event
    assert (event.type, event.actor, event.note) == (
        EventType.NOTED,
        org.marketer,
        "Called her: budget in May. @rep please call Tue.",
    )
    assert (event.from_stage, event.to_stage, event.stage_since, event.reason) == ("", "", None, None)
    assert event.data == {
        "mentions": [{"id": org.rep.pk, "username": "rep"}],
        "unknown": [],
        "not_notified": [],
    }
    after = Lead.objects.get(pk=lead.pk)
    # Not a stage change: stage, version (no stale forms), clocks untouched.
    assert (after.stage, after.version, after.stage_entered_at) == (
        Stage.MQL,
        before.version,
        before.stage_entered_at,
    )
    assert EventType.NOTED not in {t.event for t in TRANSITIONS.values()}
    # Immutable, like every event.
    with pytest.raises(Exception, match="immutable"):
        event.save()


def test_a_mention_tells_the_colleague_once_after_commit_with_a_link(
    org, make_lead, django_capture_on_commit_callbacks
):
    lead = make_lead(first_name="Mia", last_name="Mention", company="Acme")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = services.lead_note_add(
            lead_id=lead.pk, actor=org.marketer, text="@rep and @REP2: she's hot."
        )
        # Nothing is told inside the transaction.
        assert not Notification.objects.exists()
    assert [u.username for u in result.notified] == ["rep", "rep2"]
    for callback in callbacks:
        callback()
    told = Notification.objects.filter(kind=NotificationKind.MENTIONED).order_by("recipient__username")
    assert [n.recipient.username for n in told] == ["rep", "rep2"]
    note = told[0]
    assert note.lead_id == lead.pk and note.dedupe_key == f"event:{result.event.pk}"
    assert "mentioned you in a note on Mia Mention" in note.subject
    assert "she's hot." in note.body and f"{settings.SMARKETING_BASE_URL}/leads/{lead.pk}/" in note.body
    # Processing the event again (a retried task) tells nobody twice.
    assert notifications_for_event(result.event.pk) == 0
    assert Notification.objects.filter(kind=NotificationKind.MENTIONED).count() == 2


def test_unknown_names_and_people_without_a_role_are_reported_not_told(
    org, make_lead, django_capture_on_commit_callbacks
):
    lead = make_lead()
    with django_capture_on_commit_callbacks(execute=True):
        result = services.lead_note_add(
            lead_id=lead.pk,
            actor=org.rep,
            text="@bob and @technician, see this; @marketer too. Mail ann@acme.com, not @rep (me).",
        )
    assert result.unknown == ["bob"] and result.not_notified == ["technician"]
    assert [u.username for u in result.notified] == ["marketer"]
    assert result.messages == [
        "@bob is not a colleague here; nobody was notified for it.",
        "@technician has no marketing or sales role and cannot read notes on leads; "
        "they were not notified (the note is saved).",
    ]
    told = set(
        Notification.objects.filter(kind=NotificationKind.MENTIONED).values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"marketer"}  # not the employee, not the writer, not the email's "acme"


def test_an_inactive_colleague_is_nobody_here(org, make_lead):
    UserFactory(username="gone", is_active=False)
    result = services.lead_note_add(lead_id=make_lead().pk, actor=org.marketer, text="Ask @gone")
    assert result.unknown == ["gone"] and not result.notified


def test_mention_names_are_read_as_a_person_would():
    assert mentioned_names("@rep. Also @rep2, @Rep and (@a.b-c_d)!") == ["rep", "rep2", "a.b-c_d"]
    assert mentioned_names("ann@acme.com wrote to x@y") == []


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "Write something: a note cannot be empty."),
        (" \n\t ", "Write something: a note cannot be empty."),
        ("x" * (NOTE_MAX + 1), "A note can be at most 5,000 characters."),
        ("bad\x00byte", "A note cannot contain a NUL character or a lone surrogate."),
        ("lone \ud800", "A note cannot contain a NUL character or a lone surrogate."),
        (" ".join(f"@u{n}" for n in range(MENTIONS_MAX + 1)), "A note can mention at most 20 colleagues."),
    ],
)
def test_bad_text_is_refused_and_changes_nothing(org, make_lead, text, message):
    lead = make_lead()
    with pytest.raises(ActionError) as refused:
        services.lead_note_add(lead_id=lead.pk, actor=org.marketer, text=text)
    assert refused.value.message == message and refused.value.fields == {"body": [message]}
    assert not notes_of(lead)


def test_exactly_the_longest_note_is_taken(org, make_lead):
    lead = make_lead()
    services.lead_note_add(lead_id=lead.pk, actor=org.marketer, text="y" * NOTE_MAX)
    assert len(notes_of(lead)[0].note) == NOTE_MAX


def test_who_may_write_a_note(org, make_sql):
    lead = make_sql()
    for person in (org.marketer, org.rep, org.other_rep, org.sales_manager, org.marketing_manager, org.admin):
        services.lead_note_add(lead_id=lead.pk, actor=person, text=f"From {person.username}")
    with pytest.raises(ActionError) as refused:
        services.lead_note_add(lead_id=lead.pk, actor=org.employee, text="From the technician")
    assert refused.value.code == ActionError.FORBIDDEN
    assert refused.value.message == (
        "You cannot write a note on this lead: only marketing, sales and their managers can."
    )
    assert len(notes_of(lead)) == 6


def test_a_merged_away_lead_points_to_its_survivor_and_its_notes_follow(org, make_lead):
    survivor, other = make_lead(), make_lead()
    services.lead_note_add(lead_id=other.pk, actor=org.marketer, text="Written before the merge")
    services.lead_merge(survivor_id=survivor.pk, other_id=other.pk, actor=org.marketer)
    with pytest.raises(ActionError) as refused:
        services.lead_note_add(lead_id=other.pk, actor=org.marketer, text="Too late")
    assert refused.value.code == ActionError.WRONG_STAGE
    assert (
        refused.value.message == f"This lead was merged into lead {survivor.pk}; write your note on that one."
    )
    assert refused.value.data == {"merged_into": survivor.pk}
    # The survivor's timeline (page and API) shows the merged lead's note.
    assert [e.note for e in selectors.lead_notes(survivor)] == ["Written before the merge"]


def test_reports_and_the_funnel_ignore_notes(org, make_lead):
    lead = make_lead()
    counts_before = selectors.funnel_as_of(lead.created_at.replace(year=lead.created_at.year + 1))
    services.lead_note_add(lead_id=lead.pk, actor=org.marketer, text="Nothing moves")
    assert selectors.funnel_as_of(lead.created_at.replace(year=lead.created_at.year + 1)) == counts_before
    assert (
        selectors.stage_as_of(lead.created_at.replace(year=lead.created_at.year + 1))[lead.pk] == Stage.LEAD
    )


# --- the page -----------------------------------------------------------------------------------


def test_the_page_writes_a_note_and_shows_it_on_the_timeline(
    client, org, make_lead, django_capture_on_commit_callbacks
):
    org.marketer.first_name, org.marketer.last_name = "Maja", "Marketer"
    org.marketer.save()
    lead = make_lead(first_name="Tia", last_name="Timeline")
    client.force_login(org.marketer)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert f'action="/leads/{lead.pk}/notes/"' in page and "No notes yet." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/leads/{lead.pk}/notes/", {"body": "Spoke at the booth.\n@rep call her; @bob too"}, follow=True
        )
    assert response.redirect_chain == [(f"/leads/{lead.pk}/#notes-h", 302)]
    page = html.unescape(response.content.decode())
    assert f"Note added to Tia Timeline. Told {org.rep.get_full_name() or 'rep'}." in page
    assert "@bob is not a colleague here; nobody was notified for it." in page
    assert "Spoke at the booth.<br>@rep call her; @bob too" in page
    assert "mentioned @rep" in page and "Maja Marketer" in page and "1 note on the timeline below." in page
    assert Notification.objects.get(kind=NotificationKind.MENTIONED).recipient == org.rep


def test_the_page_refuses_an_empty_note_next_to_the_field(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.rep)
    response = client.post(f"/leads/{lead.pk}/notes/", {"body": "   "})
    assert response.status_code == 400
    assert "Write something: a note cannot be empty." in response.content.decode()
    assert not notes_of(lead)


def test_an_employee_neither_reads_nor_writes_notes(client, org, make_lead):
    lead = make_lead(first_name="Pia", last_name="Private")
    services.lead_note_add(lead_id=lead.pk, actor=org.marketer, text="Secret budget: 40k")
    client.force_login(org.employee)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Pia Private" in page and "Secret budget" not in page and "lead-note-add" not in page
    assert "/notes/" not in page
    response = client.post(f"/leads/{lead.pk}/notes/", {"body": "Hi"})
    assert (
        response.status_code == 403
        and "only marketing, sales and their managers" in response.content.decode()
    )
    assert len(notes_of(lead)) == 1
    # Nor through the events of the API.
    events = api_as(org.employee).get(f"/api/leads/{lead.pk}/events/").json()
    assert EventType.NOTED not in {e["type"] for e in events}
    assert EventType.NOTED in {e["type"] for e in api_as(org.rep).get(f"/api/leads/{lead.pk}/events/").json()}


def test_the_page_on_a_merged_away_lead_points_to_the_survivor(client, org, make_lead):
    survivor, other = make_lead(), make_lead()
    services.lead_merge(survivor_id=survivor.pk, other_id=other.pk, actor=org.marketer)
    client.force_login(org.marketer)
    assert f'action="/leads/{other.pk}/notes/"' not in client.get(f"/leads/{other.pk}/").content.decode()
    response = client.post(f"/leads/{other.pk}/notes/", {"body": "Hello"})
    assert response.status_code == 409
    assert f"merged into lead {survivor.pk}; write your note on that one." in response.content.decode()
    assert not LeadEvent.objects.filter(type=EventType.NOTED).exists()


# --- the API --------------------------------------------------------------------------------------


def test_the_api_writes_and_lists_notes_as_the_page_does(org, make_lead, django_capture_on_commit_callbacks):
    lead = make_lead()
    api = api_as(org.marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/leads/{lead.pk}/notes/", {"body": "@rep over to you; @bob @technician"}, format="json"
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    event = LeadEvent.objects.get(lead=lead, type=EventType.NOTED)
    assert body["id"] == event.pk and body["lead"] == lead.pk and body["author"]["username"] == "marketer"
    assert body["body"] == "@rep over to you; @bob @technician"
    assert body["mentions"] == [{"id": org.rep.pk, "username": "rep"}]
    assert body["unknown_mentions"] == ["bob"] and body["not_notified"] == ["technician"]
    assert body["messages"][0] == "@bob is not a colleague here; nobody was notified for it."
    assert "they were not notified" in body["messages"][1]
    assert Notification.objects.get(kind=NotificationKind.MENTIONED).recipient == org.rep
    listed = api_as(org.rep).get(f"/api/leads/{lead.pk}/notes/").json()
    assert [n["id"] for n in listed] == [event.pk] and "messages" not in listed[0]


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"body": "   "}, 422, "invalid"),
        ({"body": "a\x00b"}, 422, "invalid"),
        ({"body": 5}, 400, "malformed"),
        ({}, 400, "malformed"),
        ({"body": "x" * (NOTE_MAX + 1)}, 400, "malformed"),
        ({"body": "ok", "pinned": True}, 400, "malformed"),
    ],
)
def test_the_api_refuses_bad_notes(org, make_lead, body, status, code):
    lead = make_lead()
    response = api_as(org.marketer).post(f"/api/leads/{lead.pk}/notes/", body, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert not notes_of(lead)


def test_the_api_refuses_an_employee_and_a_merged_lead(org, make_lead):
    survivor, other = make_lead(), make_lead()
    services.lead_merge(survivor_id=survivor.pk, other_id=other.pk, actor=org.marketer)
    refused = api_as(org.employee).post(f"/api/leads/{survivor.pk}/notes/", {"body": "Hi"}, format="json")
    assert refused.status_code == 403
    assert api_as(org.employee).get(f"/api/leads/{survivor.pk}/notes/").status_code == 403
    merged = api_as(org.marketer).post(f"/api/leads/{other.pk}/notes/", {"body": "Hi"}, format="json")
    assert merged.status_code == 409
    assert merged.json()["error"]["merged_into"] == survivor.pk
    assert "write your note on that one" in merged.json()["error"]["message"]
    assert (
        api_as(org.marketer).post("/api/leads/999999/notes/", {"body": "Hi"}, format="json").status_code
        == 404
    )
    assert not LeadEvent.objects.filter(type=EventType.NOTED).exists()


@pytest.mark.parametrize("notes", [2, 12])
def test_the_lead_page_reads_notes_in_constant_queries(
    client, org, make_lead, notes, django_assert_max_num_queries
):
    lead = make_lead()
    for n in range(notes):
        services.lead_note_add(
            lead_id=lead.pk, actor=org.marketer if n % 2 else org.rep, text=f"Note {n} @rep"
        )
    client.force_login(org.marketer)
    with django_assert_max_num_queries(40):
        page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert all(f"Note {n} @rep" in page for n in range(notes))
