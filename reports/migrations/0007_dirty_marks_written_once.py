"""Dirty marks written once per lead and transaction (reports.rollups): the same marks,
with less work for a bulk write (a migration's chunk marks each of its leads from the
leads' insert, then again from the events' and the clocks').

A lead this transaction marked already is not written again: the ON CONFLICT update
happens only when the mark's time differs (`now()`, the transaction's start). The mark is
still locked as before (ON CONFLICT DO UPDATE locks the row even when its WHERE skips the
update), so a refresh that holds it is still waited for, and the mark written anew after.

PostgreSQL only (SQLite keeps no rollups).
"""

from django.db import migrations

MARK = """
CREATE OR REPLACE FUNCTION smk_mark_dirty(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO reports_dirtylead (lead_id, marked_at)
    SELECT DISTINCT unnest(ids), now() ORDER BY 1
    ON CONFLICT (lead_id) DO UPDATE SET marked_at = excluded.marked_at
    WHERE reports_dirtylead.marked_at IS DISTINCT FROM excluded.marked_at
$$;
"""

# As reports 0003 wrote it.
MARK_BEFORE = """
CREATE OR REPLACE FUNCTION smk_mark_dirty(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO reports_dirtylead (lead_id, marked_at)
    SELECT DISTINCT unnest(ids), now() ORDER BY 1
    ON CONFLICT (lead_id) DO UPDATE SET marked_at = excluded.marked_at
$$;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(MARK)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(MARK_BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0006_commitment_terms"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
