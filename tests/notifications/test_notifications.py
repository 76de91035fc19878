"""Notifications: after commit, to the right person, never twice for one event."""

from __future__ import annotations

import pytest
from django.utils import timezone

from leads import services
from leads.event_notifications import notifications_for_event
from leads.models import LeadEvent
from smarketing.notifications.models import Notification, NotificationKind
from smarketing.notifications.services import notification_email_send

pytestmark = pytest.mark.django_db


def test_hand_off_tells_the_rep_after_commit(org, make_lead, django_capture_on_commit_callbacks, mailoutbox):
    lead = make_lead(first_name="Nina", last_name="Notify")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    assert Notification.objects.count() == 0, "nothing is sent before the transaction commits"
    with django_capture_on_commit_callbacks(execute=True):  # the commit; its email follows its own commit
        for callback in callbacks:
            callback()
    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.lead) == (org.rep, NotificationKind.MQL_ASSIGNED, lead)
    assert "Nina Notify" in note.subject
    assert [m.to for m in mailoutbox] == [[org.rep.email]]
    assert Notification.objects.get().emailed_at is not None


def test_rejection_tells_the_qualifying_marketer_with_the_reason(
    org, make_mql, reasons, django_capture_on_commit_callbacks
):
    lead = make_mql()
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_reject(lead_id=lead.pk, actor=org.rep, reason=reasons.rejection, note="Try the COO")
    note = Notification.objects.get(kind=NotificationKind.MQL_REJECTED)
    assert note.recipient == org.marketer
    assert reasons.rejection.label in note.subject and "Try the COO" in note.body


def test_win_tells_the_marketer_and_the_referrer(org, reasons, django_capture_on_commit_callbacks):
    lead = services.lead_create(
        actor=org.employee,
        email="ref@example.com",
        first_name="Ref",
        last_name="Erred",
        company="Co",
        job_title="CEO",
        source="referral",
        referrer=org.employee,
        via="referral",
    )
    services.engagement_log(lead_id=lead.pk, actor=org.marketer, type="demo_request")
    services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    services.lead_accept(lead_id=lead.pk, actor=org.rep)
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_win(lead_id=lead.pk, actor=org.rep, amount=5000, closed_on=timezone.localdate())
    kinds = dict(
        Notification.objects.filter(
            kind__in=[NotificationKind.LEAD_WON, NotificationKind.REFERRAL_CONVERTED]
        ).values_list("kind", "recipient__username")
    )
    assert kinds == {NotificationKind.LEAD_WON: "marketer", NotificationKind.REFERRAL_CONVERTED: "technician"}


def test_processing_an_event_twice_creates_and_sends_nothing_new(org, make_mql, mailoutbox):
    lead = make_mql()
    event = LeadEvent.objects.get(lead=lead, type="qualified")
    first = notifications_for_event(event.pk)
    second = notifications_for_event(event.pk)
    assert len(first) <= 1 and second == []
    assert Notification.objects.filter(lead=lead, kind=NotificationKind.MQL_ASSIGNED).count() == 1
    note = Notification.objects.get(lead=lead, kind=NotificationKind.MQL_ASSIGNED)
    assert notification_email_send(note.pk) is True
    assert notification_email_send(note.pk) is False  # claimed by the first send: never twice
    assert len(mailoutbox) == 1


def test_notifications_never_point_nowhere_though_their_keys_are_loose(org):
    """The lead and recipient are loose keys in the database (migration 0020). Deleting a
    person through Django still deletes their notifications; a lead cannot be deleted at
    all once it has a history (its immutable events protect it), so its stay valid."""
    from django.contrib.auth import get_user_model
    from django.db.models import ProtectedError

    from tests.factories import LeadFactory, UserFactory

    lead = LeadFactory(email="kept@example.com")
    leaver = UserFactory(username="leaver")
    for recipient in (org.rep, leaver):
        Notification.objects.create(
            recipient=recipient,
            kind=NotificationKind.MQL_ASSIGNED,
            lead=lead,
            dedupe_key="t",
            subject="s",
            body="b",
        )
    get_user_model().objects.filter(pk=leaver.pk).delete()
    assert list(Notification.objects.values_list("recipient__username", "lead__email")) == [
        ("rep", "kept@example.com")
    ]
    with pytest.raises(ProtectedError):
        lead.delete()
    assert Notification.objects.get().lead == lead


def test_a_name_with_a_line_break_cannot_break_the_email_header(
    org, make_lead, django_capture_on_commit_callbacks, mailoutbox
):
    lead = make_lead(first_name="Ann\r\nBcc: everyone@example.com", last_name="Archer")
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    note = Notification.objects.get()
    assert "\n" not in note.subject and "\r" not in note.subject
    assert "Ann Bcc: everyone@example.com Archer" in note.subject
    assert [(m.to, m.subject) for m in mailoutbox] == [([org.rep.email], note.subject)]
    assert note.emailed_at is not None


def test_an_email_the_server_refuses_is_tried_again_then_shown_as_failed(
    org, make_lead, monkeypatch, client, django_capture_on_commit_callbacks
):
    import smtplib

    from smarketing.notifications import services as notification_services
    from smarketing.notifications.models import EMAIL_ATTEMPTS
    from smarketing.notifications.tasks import notifications_deliver_pending

    lead = make_lead()
    with django_capture_on_commit_callbacks(execute=True):
        services.lead_qualify(lead_id=lead.pk, actor=org.marketer)
    note = Notification.objects.get()
    Notification.objects.filter(pk=note.pk).update(
        emailed_at=None,
        email_claimed_at=None,
        email_attempts=0,
        created_at=timezone.now() - timezone.timedelta(hours=1),
    )

    def refuse(*args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"rep@example.com": (550, b"mailbox unavailable")})

    monkeypatch.setattr(notification_services, "send_mail", refuse)
    assert notification_email_send(note.pk) is False
    note.refresh_from_db()
    # Not lost: released for the beat job to try again, with the error kept.
    assert (note.email_claimed_at, note.email_attempts, note.email_failed_at) == (None, 1, None)
    assert "SMTPRecipientsRefused" in note.email_error
    for _ in range(EMAIL_ATTEMPTS + 2):
        notifications_deliver_pending()
    note.refresh_from_db()
    assert (
        note.email_attempts == EMAIL_ATTEMPTS and note.email_failed_at is not None and note.emailed_at is None
    )
    client.force_login(org.rep)
    assert "Email not delivered" in client.get("/inbox/").content.decode()
