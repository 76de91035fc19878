"""Three report definitions made exact (issue 21), and the rollups rebuilt to match:

- velocity counts each lead once per stage, its last stay that ended in the range: a stay's
  value remembers the week of the lead's next stay-end in the same stage (`next_week`);
- SLA compliance resolves a breached clock at its due time: a clock whose deadline moves
  after its breach marks its lead dirty too;
- cohort conversion counts each MQL by its cohort state now (`C` facts' k1).

The facts are rebuilt from scratch on PostgreSQL (SQLite keeps no rollups).
"""

import datetime as dt

from django.db import migrations, models

NO_NEXT = dt.date(9999, 12, 31)

# As reports 0003 wrote it, plus the deadline of a breached clock (a breach is resolved then).
CLOCKS_UPDATED = """
CREATE OR REPLACE FUNCTION smk_dirty_clocks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM smk_mark_dirty(ARRAY(
        SELECT DISTINCT unnest(ARRAY[o.lead_id, n.lead_id]) FROM old o JOIN new n ON n.id = o.id
        WHERE o.met_at IS DISTINCT FROM n.met_at OR o.breached_at IS DISTINCT FROM n.breached_at
           OR o.owner_id IS DISTINCT FROM n.owner_id OR o.lead_id IS DISTINCT FROM n.lead_id
           OR (n.breached_at IS NOT NULL AND o.due_at IS DISTINCT FROM n.due_at)
    ));
    RETURN NULL;
END $$;
"""
CLOCKS_UPDATED_BEFORE = """
CREATE OR REPLACE FUNCTION smk_dirty_clocks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM smk_mark_dirty(ARRAY(
        SELECT DISTINCT unnest(ARRAY[o.lead_id, n.lead_id]) FROM old o JOIN new n ON n.id = o.id
        WHERE o.met_at IS DISTINCT FROM n.met_at OR o.breached_at IS DISTINCT FROM n.breached_at
           OR o.owner_id IS DISTINCT FROM n.owner_id OR o.lead_id IS DISTINCT FROM n.lead_id
    ));
    RETURN NULL;
END $$;
"""


def rebuild(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CLOCKS_UPDATED)
    from reports import rollups

    rollups.rebuild()


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CLOCKS_UPDATED_BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_commitments_moved_from_sla"),
    ]

    operations = [
        migrations.AddField(
            model_name="funnelvalue",
            name="next_week",
            field=models.DateField(default=NO_NEXT),
            preserve_default=False,
        ),
        migrations.RemoveIndex(model_name="funnelvalue", name="funnelvalue_pick"),
        migrations.AddIndex(
            model_name="funnelvalue",
            index=models.Index(
                fields=["kind", "k1", "bucket", "week", "value", "next_week"], name="funnelvalue_pick"
            ),
        ),
        migrations.RunPython(rebuild, restore),
    ]
