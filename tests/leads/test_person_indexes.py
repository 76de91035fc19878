"""The lead's person indexes (migration 0021) leave out the leads without one and still
serve every look-up by person, PostgreSQL's own foreign-key checks too."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.parametrize(
    ("column", "index"),
    [
        ("owner_id", "lead_owner_stage"),
        ("qualified_by_id", "lead_qualified_by_stage"),
        ("referrer_id", "lead_referrer"),
        ("merged_into_id", "lead_merged_into"),
    ],
)
def test_the_person_indexes_serve_the_look_ups_by_person(require_postgres, column, index):
    """As PostgreSQL checks a foreign key before a delete: a generic plan, the value a
    parameter. `x = $1` implies `x IS NOT NULL`, so the partial index serves it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"PREPARE by_person(bigint) AS SELECT 1 FROM ONLY leads_lead x "  # noqa: S608 - fixed names
            f"WHERE $1 OPERATOR(pg_catalog.=) {column} FOR KEY SHARE OF x"
        )
        try:
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN EXECUTE by_person(1)")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE by_person")
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
        (definition,) = cursor.fetchone()
    assert f" {index} " in plan, plan
    assert definition.endswith(f"WHERE ({column} IS NOT NULL)"), definition
