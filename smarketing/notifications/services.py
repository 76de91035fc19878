"""The notification outbox: in-app rows first, email after commit, each exactly once.

A row is unique per (recipient, kind, dedupe key), so reprocessing an event creates
nothing new. An email is claimed by a conditional UPDATE before it is sent: a retry or a
second worker finds it claimed and sends nothing (at most once, never twice).
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from smarketing.core.errors import ActionError
from smarketing.core.lookups import array_literal
from smarketing.core.queue import on_commit_enqueue
from smarketing.notifications import tasks
from smarketing.notifications.models import EMAIL_ATTEMPTS, Notification

log = logging.getLogger(__name__)


def one_line(text: str, limit: int = 200) -> str:
    """A subject as one line: line breaks and other whitespace runs become one space (a
    name typed with a line break in it must not break an email header), cut to `limit`."""
    return " ".join(str(text).split())[:limit]


def notify(
    *, recipient, kind: str, lead, dedupe_key: str, subject: str, body: str, created_at=None
) -> Notification | None:
    """Create the in-app notification (once) and queue its email after commit.

    `created_at` is when the thing happened (an event's time), not when a worker got to it."""
    if recipient is None or not recipient.is_active:
        return None
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=recipient,
                kind=kind,
                lead=lead,
                dedupe_key=dedupe_key,
                subject=one_line(subject),
                body=body,
                created_at=created_at or timezone.now(),
            )
    except IntegrityError:
        return None
    on_commit_enqueue(tasks.notification_email, notification.pk)
    return notification


class Message(NamedTuple):
    """One notification to create with `notify_many` (plain values: a batch of them is
    cheap to build)."""

    recipient_id: int
    kind: str
    lead_id: int | None
    dedupe_key: str
    subject: str
    body: str


# Rows per INSERT in notify_many on SQLite (7 parameters each, well under its limit).
INSERT_ROWS = 500


def notify_many(messages: list[Message]) -> list[int]:
    """`notify` for many at once: one INSERT creates the notifications, except those to
    nobody active and those that exist already (same recipient, kind and dedupe key), and
    their emails are queued as one task after commit. Returns the ids created."""
    from django.contrib.auth import get_user_model

    recipients = {m.recipient_id for m in messages if m.recipient_id is not None}
    active = set(
        get_user_model().objects.filter(pk__in=recipients, is_active=True).values_list("pk", flat=True)
    )
    fresh: dict[tuple, Message] = {}
    for m in messages:
        if m.recipient_id in active:
            fresh.setdefault((m.recipient_id, m.kind, m.dedupe_key), m)
    rows = list(fresh.values())
    created_at = Notification._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    table = connection.ops.quote_name(Notification._meta.db_table)
    columns = "recipient_id, kind, lead_id, dedupe_key, subject, body, created_at"
    # The unique key decides what is new, as in `notify`: an existing row is left alone.
    conflict = "ON CONFLICT (recipient_id, kind, dedupe_key) DO NOTHING RETURNING id"
    created: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and rows:
            # The rows as one array literal per column: one short statement whatever the
            # batch size, where a VALUES list (or psycopg2's ARRAY[…]) costs a parse per cell.
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "  # noqa: S608
                "SELECT v.recipient_id, v.kind, v.lead_id, v.dedupe_key, v.subject, v.body, %s "
                "FROM unnest(%s::integer[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[]) "
                f"AS v(recipient_id, kind, lead_id, dedupe_key, subject, body) {conflict}",
                [
                    created_at,
                    array_literal(m.recipient_id for m in rows),
                    array_literal(m.kind for m in rows),
                    array_literal(m.lead_id for m in rows),
                    array_literal(m.dedupe_key for m in rows),
                    array_literal(one_line(m.subject) for m in rows),
                    array_literal(m.body for m in rows),
                ],
            )
            created = [pk for (pk,) in cursor.fetchall()]
            rows = []
        for start in range(0, len(rows), INSERT_ROWS):
            chunk = rows[start : start + INSERT_ROWS]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "  # noqa: S608
                f"VALUES {', '.join(['(%s, %s, %s, %s, %s, %s, %s)'] * len(chunk))} {conflict}",
                [v for m in chunk for v in (*m[:4], one_line(m.subject), m.body, created_at)],
            )
            created += [pk for (pk,) in cursor.fetchall()]
    if created:
        on_commit_enqueue(tasks.notification_emails, created)
    return created


def notification_emails_send(notification_ids: list[int]) -> int:
    """Send the emails of several notifications (each claimed, at most once); one that
    fails is logged and does not hold up the others. Returns how many were sent."""
    sent = 0
    for notification_id in notification_ids:
        try:
            sent += notification_email_send(notification_id)
        except Exception:
            log.exception("notification %s: email failed", notification_id)
    return sent


def notification_email_send(notification_id: int) -> bool:
    """Claim, send, mark. Returns True when this call sent the email.

    An email the mail server refuses is released to be tried again by the beat job
    (`tasks.notifications_deliver_pending`), and after EMAIL_ATTEMPTS tries marked failed
    with its error: the inbox and the admin show it, and the log says so."""
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, email_claimed_at__isnull=True, email_failed_at__isnull=True
    ).update(email_claimed_at=now, email_attempts=F("email_attempts") + 1)
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    if not notification.recipient.email:
        return False
    try:
        send_mail(one_line(notification.subject), notification.body, None, [notification.recipient.email])
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        if notification.email_attempts >= EMAIL_ATTEMPTS:
            Notification.objects.filter(pk=notification_id).update(
                email_failed_at=timezone.now(), email_error=error
            )
            log.error(
                "notification %s: email failed %s times, given up: %s", notification_id, EMAIL_ATTEMPTS, error
            )
        else:
            Notification.objects.filter(pk=notification_id).update(email_claimed_at=None, email_error=error)
            log.warning("notification %s: email failed, to be tried again: %s", notification_id, error)
        return False
    Notification.objects.filter(pk=notification_id).update(emailed_at=timezone.now(), email_error="")
    log.info("notification %s emailed", notification_id)
    return True


# --- the in-app inbox ---------------------------------------------------------------------------


def notification_mark_read(*, user, notification_id) -> Notification:
    """Mark one of my notifications read (idempotent)."""
    try:
        notification = Notification.objects.get(pk=notification_id, recipient=user)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise ActionError("No such notification.", code=ActionError.NOT_FOUND) from None
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
        notification.refresh_from_db()
    return notification


def notifications_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
