"""Mark a lead dirty, in the writer's own transaction, whenever something its dashboard facts
are built from changes (reports.rollups); then build the rollup for the data already here.

PostgreSQL only: the embedded SQLite demo counts from the event log. Inserts and clock
updates are marked by statement-level triggers (one INSERT … SELECT DISTINCT for a whole
bulk insert, COPY or SLA run); other updates and deletes by row-level ones, updates only
when a column the facts read changed.
"""

from django.db import migrations

MARK = """
CREATE OR REPLACE FUNCTION smk_mark_dirty(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO reports_dirtylead (lead_id, marked_at)
    SELECT DISTINCT unnest(ids), now() ORDER BY 1
    ON CONFLICT (lead_id) DO UPDATE SET marked_at = excluded.marked_at
$$;

CREATE OR REPLACE FUNCTION smk_dirty_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'leads_lead' THEN
        PERFORM smk_mark_dirty(ARRAY(SELECT id FROM inserted));
    ELSE
        PERFORM smk_mark_dirty(ARRAY(SELECT lead_id FROM inserted));
    END IF;
    RETURN NULL;
END $$;

-- Clocks are updated in batches (an SLA run breaches hundreds in one statement): one
-- statement-level trigger marks the leads whose clocks changed in a way the facts read.
CREATE OR REPLACE FUNCTION smk_dirty_clocks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM smk_mark_dirty(ARRAY(
        SELECT DISTINCT unnest(ARRAY[o.lead_id, n.lead_id]) FROM old o JOIN new n ON n.id = o.id
        WHERE o.met_at IS DISTINCT FROM n.met_at OR o.breached_at IS DISTINCT FROM n.breached_at
           OR o.owner_id IS DISTINCT FROM n.owner_id OR o.lead_id IS DISTINCT FROM n.lead_id
    ));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION smk_dirty_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'leads_lead' THEN
        PERFORM smk_mark_dirty(ARRAY[coalesce(NEW.id, OLD.id)]);
    ELSIF TG_TABLE_NAME = 'leads_membership' THEN
        -- A rep's team: every lead with a clock of theirs counts for another team now.
        PERFORM smk_mark_dirty(ARRAY(
            SELECT DISTINCT lead_id FROM sla_clock
            WHERE owner_id IN (NEW.user_id, OLD.user_id) AND (met_at IS NOT NULL OR breached_at IS NOT NULL)
        ));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM smk_mark_dirty(ARRAY[NEW.lead_id, OLD.lead_id]);
    ELSE
        PERFORM smk_mark_dirty(ARRAY[coalesce(NEW.lead_id, OLD.lead_id)]);
    END IF;
    RETURN NULL;
END $$;
"""

TRIGGERS = """
CREATE TRIGGER smk_dirty_lead_insert AFTER INSERT ON leads_lead
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION smk_dirty_inserted();
CREATE TRIGGER smk_dirty_lead_update AFTER UPDATE ON leads_lead FOR EACH ROW
    WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.source IS DISTINCT FROM NEW.source
          OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id OR OLD.referrer_id IS DISTINCT FROM NEW.referrer_id
          OR OLD.merged_into_id IS DISTINCT FROM NEW.merged_into_id
          OR OLD.deal_amount IS DISTINCT FROM NEW.deal_amount OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION smk_dirty_row();
CREATE TRIGGER smk_dirty_lead_delete AFTER DELETE ON leads_lead FOR EACH ROW EXECUTE FUNCTION smk_dirty_row();

CREATE TRIGGER smk_dirty_event_insert AFTER INSERT ON leads_leadevent
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION smk_dirty_inserted();
CREATE TRIGGER smk_dirty_event_change AFTER UPDATE OR DELETE ON leads_leadevent FOR EACH ROW
    EXECUTE FUNCTION smk_dirty_row();

CREATE TRIGGER smk_dirty_clock_insert AFTER INSERT ON sla_clock
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION smk_dirty_inserted();
CREATE TRIGGER smk_dirty_clock_update AFTER UPDATE ON sla_clock
    REFERENCING OLD TABLE AS old NEW TABLE AS new FOR EACH STATEMENT EXECUTE FUNCTION smk_dirty_clocks_updated();
CREATE TRIGGER smk_dirty_clock_delete AFTER DELETE ON sla_clock FOR EACH ROW EXECUTE FUNCTION smk_dirty_row();

CREATE TRIGGER smk_dirty_membership AFTER INSERT OR UPDATE OR DELETE ON leads_membership FOR EACH ROW
    EXECUTE FUNCTION smk_dirty_row();
"""

DROP = """
DROP TRIGGER IF EXISTS smk_dirty_lead_insert ON leads_lead;
DROP TRIGGER IF EXISTS smk_dirty_lead_update ON leads_lead;
DROP TRIGGER IF EXISTS smk_dirty_lead_delete ON leads_lead;
DROP TRIGGER IF EXISTS smk_dirty_event_insert ON leads_leadevent;
DROP TRIGGER IF EXISTS smk_dirty_event_change ON leads_leadevent;
DROP TRIGGER IF EXISTS smk_dirty_clock_insert ON sla_clock;
DROP TRIGGER IF EXISTS smk_dirty_clock_update ON sla_clock;
DROP TRIGGER IF EXISTS smk_dirty_clock_delete ON sla_clock;
DROP TRIGGER IF EXISTS smk_dirty_membership ON leads_membership;
DROP FUNCTION IF EXISTS smk_dirty_row();
DROP FUNCTION IF EXISTS smk_dirty_clocks_updated();
DROP FUNCTION IF EXISTS smk_dirty_inserted();
DROP FUNCTION IF EXISTS smk_mark_dirty(bigint[]);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(MARK)
    schema_editor.execute(TRIGGERS)
    from reports import rollups

    rollups.rebuild()


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_funnel_rollups"),
        ("leads", "0015_import_heartbeat"),
        ("sla", "0008_clock_report_indexes"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
