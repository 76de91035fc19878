"""Two people acting on the same lead at once: exactly one wins, the other is told.

PostgreSQL only: SQLite has no row locks (select_for_update does nothing there).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from leads import services
from leads.errors import LeadActionError
from leads.models import EventType, Lead, LeadEvent

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
    refusals = [r for r in results if isinstance(r, LeadActionError)]
    assert len(successes) == 1 and len(refusals) == 1, results
    assert refusals[0].code == LeadActionError.WRONG_STAGE
    assert LeadEvent.objects.filter(lead=lead, type=EventType.ACCEPTED).count() == 1
    assert Lead.objects.get(pk=lead.pk).version == lead.version + 1


def test_ten_racing_accepts_and_rejects_make_exactly_one_transition(require_postgres, org, make_mql, reasons):
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
    assert all(isinstance(r, (Lead, LeadActionError)) for r in results), results
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
    duplicate = next(r for r in results if isinstance(r, LeadActionError))
    assert duplicate.code == LeadActionError.DUPLICATE
    assert Lead.objects.filter(email="same@example.com").count() == 1
    assert LeadEvent.objects.filter(type=EventType.CREATED).count() == 1
