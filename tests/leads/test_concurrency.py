"""Two people acting on the same lead at once: exactly one wins, the other is told.

PostgreSQL only: SQLite has no row locks (select_for_update does nothing there).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from leads import services
from leads.models import EventType, Lead, LeadEvent
from smarketing.core.errors import ActionError
from smarketing.intake import run as intake_run

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(calls):
    """Run the callables at the same moment, each in its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the outcome is what we assert on
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_owner_and_manager_accepting_at_once_give_one_success(require_postgres, org, make_mql):
    lead = make_mql()
    results = race(
        [
            lambda: services.lead_accept(lead_id=lead.pk, actor=org.rep),
            lambda: services.lead_accept(lead_id=lead.pk, actor=org.sales_manager),
        ]
    )
    successes = [r for r in results if isinstance(r, Lead)]
    refusals = [r for r in results if isinstance(r, ActionError)]
    assert len(successes) == 1 and len(refusals) == 1, results
    assert refusals[0].code == ActionError.WRONG_STAGE
    assert LeadEvent.objects.filter(lead=lead, type=EventType.ACCEPTED).count() == 1
    assert Lead.objects.get(pk=lead.pk).version == lead.version + 1


def test_ten_racing_service_calls_make_exactly_one_transition(require_postgres, org, make_mql, reasons):
    lead = make_mql()
    calls = []
    for i in range(10):
        actor = org.rep if i % 2 else org.sales_manager
        if i % 3:
            calls.append(lambda actor=actor: services.lead_accept(lead_id=lead.pk, actor=actor))
        else:
            calls.append(
                lambda actor=actor: services.lead_reject(
                    lead_id=lead.pk, actor=actor, reason=reasons.rejection
                )
            )
    results = race(calls)
    assert sum(isinstance(r, Lead) for r in results) == 1, results
    assert all(isinstance(r, (Lead, ActionError)) for r in results), results
    moves = LeadEvent.objects.filter(lead=lead, type__in=[EventType.ACCEPTED, EventType.REJECTED])
    assert moves.count() == 1


def test_two_creates_with_the_same_email_make_one_lead(require_postgres, org):
    results = race(
        [
            lambda: services.lead_create(actor=org.marketer, email="same@example.com"),
            lambda: services.lead_create(actor=org.marketer2, email="SAME@example.com"),
        ]
    )
    assert sum(isinstance(r, Lead) for r in results) == 1, results
    duplicate = next(r for r in results if isinstance(r, ActionError))
    assert duplicate.code == ActionError.DUPLICATE
    assert Lead.objects.filter(email="same@example.com").count() == 1
    assert LeadEvent.objects.filter(type=EventType.CREATED).count() == 1


def test_fifty_racing_answers_over_the_api_make_one_transition_and_49_conflicts(
    require_postgres, org, make_mql, reasons
):
    """50 API requests at once, each through the whole request stack in its own thread and
    database connection, from the owner and the manager, half accepting and half
    rejecting: one wins, 49 are told why, the lead moved once."""
    from rest_framework.test import APIClient

    lead = make_mql()

    def answer(i: int):
        api = APIClient()
        api.force_authenticate(org.rep if i % 3 else org.sales_manager)
        action, body = ("accept", {}) if i % 2 else ("reject", {"reason": reasons.rejection.pk})
        response = api.post(f"/api/leads/{lead.pk}/{action}/", body, format="json")
        return response.status_code, response.json()

    results = race([lambda i=i: answer(i) for i in range(50)])
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 49, results
    conflicts = [body["error"] for status, body in results if status == 409]
    assert {error["code"] for error in conflicts} == {"wrong_stage"}
    assert all("it is" in error["message"] for error in conflicts)  # says what it is now
    moves = LeadEvent.objects.filter(lead=lead, type__in=[EventType.ACCEPTED, EventType.REJECTED])
    assert moves.count() == 1
    assert Lead.objects.get(pk=lead.pk).version == lead.version + 1


def test_two_overlapping_imports_at_once_create_no_duplicate_lead(require_postgres, org, settings, tmp_path):
    """Two marketers import files that share half their people, at the same moment: every
    email ends up as exactly one lead, and the two jobs' counts add up."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from smarketing.intake import imports

    header = "First Name,Last Name,Email,Company\n"
    first = header + "".join(f"P{i},Person,p{i}@overlap.example,Acme\n" for i in range(0, 300))
    second = header + "".join(f"P{i},Person,P{i}@Overlap.example,Acme\n" for i in range(150, 450))
    jobs = []
    for actor, text in ((org.marketer, first), (org.marketer2, second)):
        job = imports.import_upload(actor=actor, uploaded=SimpleUploadedFile("people.csv", text.encode()))
        imports.import_start(actor=actor, job_id=job.pk)
        jobs.append(job)

    results = race([lambda job=job: intake_run.import_run(job_id=job.pk) for job in jobs])
    assert not [r for r in results if isinstance(r, Exception)], results
    emails = list(Lead.objects.filter(email__endswith="@overlap.example").values_list("email", flat=True))
    assert len(emails) == len({e.lower() for e in emails}) == 450
    done = [type(job).objects.get(pk=job.pk) for job in jobs]
    assert sum(job.created_count for job in done) == 450
    assert all(
        job.created_count + job.updated_count + job.skipped_count + job.failed_count == 300 for job in done
    )
    assert (
        LeadEvent.objects.filter(type=EventType.CREATED, lead__email__endswith="@overlap.example").count()
        == 450
    )
