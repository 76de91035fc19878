"""On PostgreSQL, trigram indexes so that "contains" search over names, emails, companies
and engagement titles stays fast at a million leads. SQLite (the embedded default) has no
such index type; there the search scans, which is fine at laptop scale."""

from django.db import migrations

INDEXES = [
    ("lead_email_trgm", "leads_lead", "email"),
    ("lead_last_name_trgm", "leads_lead", "last_name"),
    ("lead_first_name_trgm", "leads_lead", "first_name"),
    ("lead_company_trgm", "leads_lead", "company"),
    ("engagement_title_trgm", "leads_engagement", "title"),
    ("campaign_name_trgm", "leads_campaign", "name"),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER({column}) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0006_inbound_sources")]

    operations = [migrations.RunPython(forwards, backwards)]
