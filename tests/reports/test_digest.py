"""The weekly digest, on the hand-built history of test_metrics (W1, W2 busy, W3 empty)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from reports import digest
from reports.models import DigestRun
from smarketing.notifications.models import Notification, NotificationKind
from tests.reports.history import W1, W2, W3, at

BASE = "https://funnel.example.com"

pytestmark = pytest.mark.usefixtures("history")


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.SMARKETING_BASE_URL = BASE


def send(moment: dt.datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return digest.send_weekly_digest()


def digests():
    return Notification.objects.filter(kind=NotificationKind.WEEKLY_DIGEST)


def test_sent_on_monday_morning_once_to_managers_marketers_and_reps(
    org, mailoutbox, django_capture_on_commit_callbacks
):
    # Given the history, when the beat runs on Monday of W3 at 07:17 (org time)
    with django_capture_on_commit_callbacks(execute=True):
        assert send(at(W3, 7, 17)) == 8
    # Then everyone in a Manager, Marketer or Sales rep group is told about W2, once —
    # not the employee without a role, not the admin.
    people = [
        org.marketer,
        org.marketer2,
        org.marketing_manager,
        org.rep,
        org.rep2,
        org.sales_manager,
        org.other_rep,
        org.other_manager,
    ]
    assert sorted(digests().values_list("recipient_id", flat=True)) == sorted(u.pk for u in people)
    assert set(digests().values_list("dedupe_key", flat=True)) == {"digest:2026-11-09"}
    run = DigestRun.objects.get()
    assert (run.week_start, run.recipients) == (W2, 8)
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted(u.email for u in people)
    # A second run (the next hour, another beat) sends nothing.
    assert send(at(W3, 8, 17)) == 0
    assert digests().count() == 8 and len(mailoutbox) == 8


def test_subject_and_body_carry_the_week_figures_and_their_links(org):
    send(at(W3, 7, 17))
    notification = digests().get(recipient=org.rep)
    assert notification.subject == "Week of 09 Nov: 3 MQLs, 33% accepted, 0 customers"
    assert notification.lead is None
    body = notification.body
    week = "week=2026-11-09"
    for line in [
        f"Dashboard: {BASE}/reports/?week=2026-11-09&week_to=2026-11-09",
        f"Leads entered: 2\n  {BASE}/leads/?entered=lead&{week}\n",
        f"MQLs entered: 3\n  {BASE}/leads/?entered=mql&{week}\n",
        f"SQLs entered: 1\n  {BASE}/leads/?entered=sql&{week}\n",
        f"Customers won: 0\n  {BASE}/leads/?entered=customer&{week}\n",
        # D rejected twice and E accepted: 3 responses, one accepted.
        f"Acceptance rate: 33% of 3 responses\n  {BASE}/leads/?outcome=answered&{week}\n",
        f"Win rate: 0% of 1 outcome (won or lost)\n  {BASE}/leads/?outcome=closed&{week}\n",
        "Speed to lead: median 1 h 0 m, 90th percentile 1 h 0 m (business time, 3 responses)\n"
        f"  {BASE}/leads/?responded=true&{week}\n",
        f"SLA compliance: 100% (3 of 3 clocks met on time)\n  {BASE}/leads/?sla=resolved&{week}\n",
        f"Top rejection reason: Not a decision maker (2 rejections)\n  {BASE}/leads/?outcome=rejected&reason=",
        "Marketing's commitment: none recorded for this week",
    ]:
        assert line in body, line


def test_an_empty_week_is_still_news(org):
    # W3 had nothing at all: its digest goes out on Monday of the week after.
    assert send(at(W3 + dt.timedelta(weeks=1), 7)) == 8
    notification = digests().get(recipient=org.marketer)
    assert notification.subject == "Week of 16 Nov: 0 MQLs, no responses, 0 customers"
    assert "Acceptance rate: no MQL was accepted or rejected" in notification.body
    assert "SLA compliance: no SLA clock was resolved" in notification.body


def test_the_commitment_is_reported_kept_or_missed(org):
    from reports.commitments import commitment_update, commitments_close_weeks

    # Agreed on the Friday before W1: in force when W1 began, so W1 and W2 are judged by it.
    with time_machine.travel(at(W1, 16, days=-3), tick=False):
        commitment_update(
            actor=org.marketing_manager, team_id=org.marketing.pk, min_mqls=3, min_acceptance_percent=50
        )
    # The commitment job records W1 at minute 7 of W2; W2's digest is sent with the job down.
    with time_machine.travel(at(W2, 0, 7), tick=False):
        commitments_close_weeks()
    for monday in (W2, W3):
        send(at(monday, 7, 17))
    w1 = digests().get(recipient=org.marketer, dedupe_key="digest:2026-11-02").body
    # W1: A handed off twice and C once; 2 of 3 responses accepted.
    assert "Marketing's commitment, Marketing: kept — 3 MQLs (agreed 3), 67% accepted (agreed 50%)" in w1
    w2 = digests().get(recipient=org.marketer, dedupe_key="digest:2026-11-09").body
    # W2: B, E and D twice handed off; 1 of 3 responses accepted.
    assert "Marketing's commitment, Marketing: missed — 4 MQLs (agreed 3), 33% accepted (agreed 50%)" in w2


def test_not_before_monday_seven_nor_for_the_week_still_running(org):
    # Monday of W2 06:59: too early for W1's digest; from 07:00 it goes out.
    assert send(at(W2, 6, 59)) == 0
    assert send(at(W2, 7, 0)) == 8
    assert set(DigestRun.objects.values_list("week_start", flat=True)) == {W1}
    # Sunday night of W2: W1 is sent already and W2 has not ended — nothing.
    assert send(at(W2, 23, 30, days=6)) == 0
    assert send(at(W3, 6, 59)) == 0
    assert set(DigestRun.objects.values_list("week_start", flat=True)) == {W1}


def test_a_missed_monday_is_caught_up_later_that_week_once(org):
    # The beat was down on Monday of W3: Tuesday's run sends W2's digest, once.
    assert send(at(W3, 10, days=1)) == 8
    assert send(at(W3, 11, days=1)) == 0
    assert send(at(W3, 9, days=4)) == 0
    assert list(DigestRun.objects.values_list("week_start", flat=True)) == [W2]
    assert digests().count() == 8


def test_no_digest_for_a_week_before_the_first_lead(org):
    # Monday of W1: the week before had no lead yet.
    assert send(at(W1, 8)) == 0
    assert not DigestRun.objects.exists() and not digests().exists()


def test_only_active_people_are_told(org):
    org.rep2.is_active = False
    org.rep2.save()
    assert send(at(W3, 7, 17)) == 7
    assert not digests().filter(recipient=org.rep2).exists()
    assert DigestRun.objects.get().recipients == 7


def test_the_inbox_shows_the_digest_with_working_links(client, org):
    send(at(W3, 7, 17))
    client.force_login(org.marketer)
    html = client.get("/inbox/").content.decode()
    assert "Week of 09 Nov" in html and "<details open>" in html
    link = f'<a href="{BASE}/leads/?entered=mql&amp;week=2026-11-09"'
    assert link in html
    # The link, taken back to this server, lists the week's MQLs (B, D and E).
    response = client.get("/leads/?entered=mql&week=2026-11-09")
    assert "3 leads match" in response.content.decode()
