"""Indexes for the lead list at a million leads.

The sorts by score, name and latest stage change get an index each (with id, the keyset's
tie-break), so that a page is a short index walk instead of sorting every lead (or every
lead of a large tie), and the source filter's index gets created_at, so that a source's
newest leads are read in index order.

On PostgreSQL, one trigram index over a lead's names, email and company together (the
expression of `leads.models.SearchText`, upper-cased as `icontains` compares): the search's
probe finds the candidates of all its words in one index scan. And statistics on the same
text as the search filters it by when a word is common (see `LeadQuerySet.search`). SQLite
has neither; there the search reads the rows, which is fine at laptop scale.

At a million leads the trigram index takes a couple of minutes to build and blocks writes to
leads_lead meanwhile; on a live database create it CONCURRENTLY by hand first (IF NOT EXISTS
below then skips it), and ANALYZE leads_lead after."""

from django.db import migrations, models

TEXT = "first_name || ' ' || last_name || ' ' || email || ' ' || company"  # leads.models.SearchText
INDEX = "lead_search_trgm"
STATISTICS = "lead_search_walk_stats"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON leads_lead USING gin (UPPER({TEXT}) gin_trgm_ops)"
    )
    # SearchText(indexed=False): no index, but statistics, so that the planner knows how many
    # leads a common word matches (without, it guesses a handful and sorts every match
    # instead of walking the sort index). 500, so that a word in 1 lead of 30 shows in them.
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} ON (UPPER(({TEXT}) || '')) FROM leads_lead"
    )
    schema_editor.execute(f"ALTER STATISTICS {STATISTICS} SET STATISTICS 500")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0015_import_heartbeat")]

    operations = [
        migrations.RemoveIndex(model_name="lead", name="lead_score"),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["-score", "-id"], name="lead_score_sort"),
        ),
        migrations.RemoveIndex(model_name="lead", name="lead_source_stage"),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["source", "stage", "-created_at"], name="lead_source_stage_created"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["last_name", "id"], name="lead_name_sort"),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["-stage_entered_at", "-id"], name="lead_stage_change_sort"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
