"""A person's rights at scale (docs/privacy.md): the person's page, their export, their
erasure and the retention preview, on a generated database.

    .venv/bin/python -m bench.privacy --database-url URL --size N

The person is the generated lead with the longest history. The erasure runs inside a
transaction that is rolled back: the database is left as it was (so it can run again).

The floor of the export and the erasure is the read they cannot avoid: every free-text
and JSON column of every table searched once for the person's words with the same regular
expression (`smarketing.privacy.services`), as plain `SELECT count(*)` statements timed in
the same process. The retention preview's floor is a bare count of the leads it considers
(stage Lead, entered before the cut-off), without the activity probes.
"""

from __future__ import annotations

import time

from bench.common import Figure, area_main, django_setup, median

RUNS = 3


def measure(size: int, database_url: str) -> list[Figure]:
    django_setup(database_url)
    from django.db import connection, transaction
    from django.db.models import Count
    from django.utils import timezone

    from leads.models import Lead, LeadEvent, Stage
    from smarketing.org.roles import Role
    from smarketing.privacy import retention, services
    from smarketing.privacy.models import PrivacyAudit, RetentionPolicy

    lead_id = (
        LeadEvent.objects.values("lead_id")
        .annotate(n=Count("id"))
        .order_by("-n", "lead_id")
        .values_list("lead_id", flat=True)[:1][0]
    )
    manager = Lead._meta.get_field("owner").related_model.objects.filter(groups__name=Role.MANAGER).first()
    ids = services.person_lead_ids(lead_id)
    person = services._Identity.of(ids)

    def floor_scan() -> float:
        started = time.perf_counter()
        for _column, rows in services._naming_rows(person):
            rows.count()
        return (time.perf_counter() - started) * 1000

    def once(action) -> float:
        started = time.perf_counter()
        action()
        return (time.perf_counter() - started) * 1000

    def erase() -> None:
        with transaction.atomic():
            services.person_erase(lead_id=lead_id, actor=manager, reference="BENCH-1")
            transaction.set_rollback(True)

    floor = median([floor_scan() for _ in range(RUNS)])
    page = median([once(lambda: services.person_data(ids, mentions=False)) for _ in range(RUNS)])
    export = median(
        [once(lambda: services.person_export(lead_id=lead_id, actor=manager)) for _ in range(RUNS)]
    )
    erasure = median([once(erase) for _ in range(RUNS)])
    PrivacyAudit.objects.filter(reference="", lead_id=ids[0]).delete()  # the exports' audit lines

    policy = RetentionPolicy(inactive_months=12, disqualified_months=6)
    preview = median([once(lambda: retention.retention_preview(policy)) for _ in range(RUNS)])
    inactive_before, _ = retention.cutoffs(policy, timezone.now())
    started = time.perf_counter()
    Lead.objects.filter(stage=Stage.LEAD, stage_entered_at__lt=inactive_before).count()
    preview_floor = (time.perf_counter() - started) * 1000
    events = LeadEvent.objects.filter(lead_id__in=ids).count()
    connection.close()
    detail = f"the person: {len(ids)} lead(s), {events} events"
    return [
        Figure("privacy", "person's page (counts)", page, "ms", None, "", None, size, detail),
        Figure("privacy", "export (zip, with mentions)", export, "ms", floor, "", None, size, detail),
        Figure("privacy", "erasure (rolled back)", erasure, "ms", floor, "", None, size, detail),
        Figure("privacy", "retention preview", preview, "ms", preview_floor, "", None, size, "12 / 6 months"),
    ]


if __name__ == "__main__":
    raise SystemExit(area_main(measure, __doc__.splitlines()[0]))
