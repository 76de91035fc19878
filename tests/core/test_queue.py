"""Tasks kept while the broker was down keep working when a task moves app."""

from __future__ import annotations

import importlib

from celery import current_app

from smarketing.core.models import DeferredTask
from tests.conftest import LiveApps


def test_kept_tasks_of_moved_tasks_are_renamed_to_tasks_the_worker_knows(db):
    moved = importlib.import_module("smarketing.core.migrations.0002_deferred_task_names_moved")
    for old in moved.MOVED:
        DeferredTask.objects.create(name=old, args=[1])
    DeferredTask.objects.create(name="leads.tasks.notifications_for_event", args=[2])  # did not move

    moved.rename(moved.MOVED)(LiveApps(), None)

    names = set(DeferredTask.objects.values_list("name", flat=True))
    assert names == {*moved.MOVED.values(), "leads.tasks.notifications_for_event"}
    for name in names:  # each is a task the worker registers under that name
        module, _, attribute = name.rpartition(".")
        assert getattr(importlib.import_module(module), attribute).name == name
        assert name in current_app.tasks
