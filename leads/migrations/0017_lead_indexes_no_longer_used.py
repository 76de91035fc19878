"""Drop the lead indexes that no query uses any more: every index is written on every
insert (an import writes tens of thousands of leads a minute), an unused one only costs.

* The per-column trigram indexes of migration 0007 on email, first name, last name and
  company. The lead list searches one trigram index over all four together (0016,
  `lead_search_trgm`); the admin's search now goes through the same search
  (`LeadQuerySet.search`). The trigram indexes on engagement titles and campaign names
  (0007 too) stay: the search still uses them.
* The single-column indexes Django gives the campaign, owner and qualified_by foreign
  keys: `lead_campaign_stage`, `lead_owner_stage` and `lead_qualified_by_stage` begin
  with the same column and serve the same lookups (the list's filters and the check
  that a campaign or user still has leads before it is deleted).
* `leads_lead_email_…_like`, the `varchar_pattern_ops` index Django adds beside a
  unique text column for `LIKE 'prefix%'`: nothing looks an email up by its start;
  equality (duplicates, the import) uses the unique index.

The backwards migration puts them back as they were.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TRIGRAM_INDEXES = [
    ("lead_email_trgm", "email"),
    ("lead_last_name_trgm", "last_name"),
    ("lead_first_name_trgm", "first_name"),
    ("lead_company_trgm", "company"),
]
FOREIGN_KEYS = ["campaign_id", "owner_id", "qualified_by_id"]


def _index_name(schema_editor, column: str, suffix: str = "") -> str:
    """The name Django gave the index (as its schema editor names them)."""
    return schema_editor._create_index_name("leads_lead", [column], suffix=suffix)


def forwards(apps, schema_editor):
    # Only the indexes: the foreign keys' constraints stay as they are (AlterField would
    # drop and re-add them, checking every lead again under an exclusive lock).
    for column in FOREIGN_KEYS:
        schema_editor.execute(f"DROP INDEX IF EXISTS {_index_name(schema_editor, column)}")
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {_index_name(schema_editor, 'email', '_like')}")


def backwards(apps, schema_editor):
    for column in FOREIGN_KEYS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {_index_name(schema_editor, column)} ON leads_lead ({column})"
        )
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON leads_lead USING gin (UPPER({column}) gin_trgm_ops)"
        )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {_index_name(schema_editor, 'email', '_like')} "
        "ON leads_lead (email varchar_pattern_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0016_lead_search_and_sort_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="lead",
                    name="campaign",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="leads",
                        to="leads.campaign",
                    ),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="owned_leads",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="qualified_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="qualified_leads",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
