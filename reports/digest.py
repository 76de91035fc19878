"""The weekly digest: the finished week's headline figures, sent to managers, marketers and
sales reps on Monday morning, each figure with the link to the leads behind it.

The figures come from the dashboard's own tables for that one week (unfiltered), so the
digest says what the dashboard says. It goes out once per week: `DigestRun` (unique week)
guards the run and the notification's dedupe key guards each person. A digest missed on
Monday (beat down) goes out later in the same week; an older week is not sent any more.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from leads.models import Lead, Stage
from reports import dashboard
from reports.models import DigestRun
from smarketing.core import formats
from smarketing.core.templatetags.core_tags import span
from smarketing.core.weeks import monday_of, org_tz, week_range
from smarketing.notifications.models import NotificationKind
from smarketing.notifications.services import notify
from smarketing.org.roles import Role

SEND_FROM = dt.time(7)  # Monday, org time
RECIPIENT_ROLES = (Role.MANAGER, Role.MARKETER, Role.SALES_REP)
ENTERED = [
    (Stage.LEAD, "Leads entered"),
    (Stage.MQL, "MQLs entered"),
    (Stage.SQL, "SQLs entered"),
    (Stage.CUSTOMER, "Customers won"),
]


def digest_week(now: dt.datetime) -> dt.date | None:
    """The finished week whose digest is due at `now`: last week, from Monday 07:00 org time
    to the end of this week; None before 07:00 on Monday."""
    current = monday_of(now)
    local = now.astimezone(org_tz())
    if local.date() == current and local.time() < SEND_FROM:
        return None
    return current - dt.timedelta(weeks=1)


def _percent(rate: float | None) -> str | None:
    return None if rate is None else f"{round(100 * rate)}%"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _duration(seconds) -> str:
    return span(dt.timedelta(seconds=float(seconds)))


def _row(table: dashboard.Table, key: str, monday: dt.date) -> tuple[dict, dict]:
    """The week's row and links; a table with no row for it (no SLA clock) gives empty ones."""
    for row, links in zip(table.rows, table.links, strict=True):
        if row.get(key) == monday:
            return row, links
    return {}, {}


def digest_message(monday: dt.date) -> tuple[str, str]:
    """Subject and plain-text body of the digest of the week starting `monday`."""
    base = settings.SMARKETING_BASE_URL
    scope = dashboard.scope_for(monday, monday)

    def link(params: dict | None) -> str:
        return f"  {base}{scope.drill_url(params or {})}"

    tables = dashboard.build(scope, {"weekly", "speed", "sla-week", "rejections"})
    weekly, weekly_links = _row(tables["weekly"], "week", monday)
    speed, speed_links = _row(tables["speed"], "week", monday)
    sla, sla_links = _row(tables["sla-week"], "name", monday)
    rejections = tables["rejections"]
    commitments = dashboard.commitment_table(scope)

    acceptance = _percent(weekly["acceptance_rate"])
    subject = (
        f"Week of {monday:%d %b}: {_plural(weekly[Stage.MQL], 'MQL')}, "
        f"{f'{acceptance} accepted' if acceptance else 'no responses'}, "
        f"{_plural(weekly[Stage.CUSTOMER], 'customer')}"
    )
    lines = [
        f"The week of {formats.day(monday)} (ISO week {monday.isocalendar().week}) is over. "
        "Its figures, for the whole funnel:",
        f"Dashboard: {base}/reports/?{urlencode(scope.range_params())}",
        "",
    ]
    for stage, label in ENTERED:
        lines += [f"{label}: {weekly[stage]}", link(weekly_links[stage])]

    if acceptance:
        lines.append(f"Acceptance rate: {acceptance} of {_plural(weekly['responses'], 'response')}")
    else:
        lines.append("Acceptance rate: no MQL was accepted or rejected")
    lines.append(link({**weekly_links["accepted"], "outcome": "answered"}))
    win_rate = _percent(weekly["win_rate"])
    if win_rate:
        lines.append(f"Win rate: {win_rate} of {_plural(weekly['closes'], 'outcome')} (won or lost)")
    else:
        lines.append("Win rate: no SQL was won or lost")
    lines.append(link({**weekly_links["won"], "outcome": "closed"}))

    if speed["responses"]:
        lines.append(
            f"Speed to lead: median {_duration(speed['median_seconds'])}, 90th percentile "
            f"{_duration(speed['p90_seconds'])} (business time, {_plural(speed['responses'], 'response')})"
        )
    else:
        lines.append("Speed to lead: no response to an MQL")
    lines.append(link(speed_links["leads"]))

    if sla:
        lines.append(
            f"SLA compliance: {_percent(sla['compliance'])} "
            f"({sla['met']} of {_plural(sla['resolved'], 'clock')} met on time)"
        )
        lines.append(link(sla_links["leads"]))
    else:
        lines.append("SLA compliance: no SLA clock was resolved")

    if rejections.rows:
        top = rejections.rows[0]
        lines.append(f"Top rejection reason: {top['reason']} ({_plural(top['rejections'], 'rejection')})")
        lines.append(link(rejections.links[0]["leads"]))
    else:
        lines.append("Top rejection reason: sales rejected no MQL")

    if not commitments.rows:
        lines.append("Marketing's commitment: none recorded for this week")
    for row in commitments.rows:
        accepted = _percent(row["acceptance"]) or "no responses"
        lines.append(
            f"Marketing's commitment, {row['team']}: {'kept' if row['met'] else 'missed'} — "
            f"{_plural(row['mqls'], 'MQL')} (agreed {row['min_mqls']}), {accepted} accepted "
            f"(agreed {_percent(row['min_acceptance'])})"
        )
    return subject, "\n".join(lines) + "\n"


def send_weekly_digest(*, now: dt.datetime | None = None) -> int:
    """Send the finished week's digest, once, to every active manager, marketer and sales
    rep — from Monday 07:00 org time, or later that week when it was missed. Nothing for a
    week before the first lead. Returns how many notifications were created."""

    monday = digest_week(now or timezone.now())
    if monday is None or DigestRun.objects.filter(week_start=monday).exists():
        return 0
    first_lead = Lead.objects.aggregate(first=Min("created_at"))["first"]
    if first_lead is None or first_lead >= week_range(monday)[1]:
        return 0
    subject, body = digest_message(monday)
    recipients = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=RECIPIENT_ROLES)
        .distinct()
        .order_by("pk")
    )
    try:
        with transaction.atomic():
            run = DigestRun.objects.create(week_start=monday)
            sent = 0
            for user in recipients:
                notification = notify(
                    recipient=user,
                    kind=NotificationKind.WEEKLY_DIGEST,
                    lead=None,
                    dedupe_key=f"digest:{monday.isoformat()}",
                    subject=subject,
                    body=body,
                )
                sent += notification is not None
            run.recipients = sent
            run.save(update_fields=["recipients"])
    except IntegrityError:
        return 0  # sent already (another run, another beat)
    return sent
