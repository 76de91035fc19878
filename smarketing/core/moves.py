"""Moving models between apps without moving their data.

When a model moves to another app (docs/architecture.md), its table, indexes and
constraints stay as they are: the move is a change of Django's state only
(`SeparateDatabaseAndState`), and the model keeps its `db_table`. What does change is the
model's content type — the app label that permissions, the admin's history and generic
relations point through. `content_types_moved` renames those rows in place, so every
group keeps its permissions and nothing is created twice.
"""

from __future__ import annotations

from django.db import migrations


def content_types_moved(from_label: str, to_label: str, models: list[str]) -> migrations.RunPython:
    """A migration operation: the content types of `models` (lower-case model names) move
    from app `from_label` to app `to_label`. Reversible."""

    def rename(source: str, target: str):
        def run(apps, schema_editor):
            ContentType = apps.get_model("contenttypes", "ContentType")
            for model in models:
                if not ContentType.objects.filter(app_label=target, model=model).exists():
                    ContentType.objects.filter(app_label=source, model=model).update(app_label=target)

        return run

    return migrations.RunPython(rename(from_label, to_label), rename(to_label, from_label), elidable=False)
