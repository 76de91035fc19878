"""The layout holds (docs/architecture.md): apps import downward only (import-linter, in
the test command), a lower app reaches a higher one only through a hook, no import hides
in a function, and each rule is written in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.utils.module_loading import import_string

from smarketing.core.hooks import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
APPS = ("smarketing", "leads", "sla", "reports")


def _modules():
    for package in APPS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text())


def test_every_hook_is_answered_by_a_handler_that_exists():
    assert {"sla.breach_reassign", "sla.breach_return", "leads.drilldown_lead_ids"} <= set(REGISTRY)
    for hook in REGISTRY.values():
        assert hook.handlers, f"nothing answers {hook.name}"
        if hook.single:
            assert len(hook.handlers) == 1, hook.name
        for handler in hook.handlers:
            assert callable(import_string(handler)), handler


def test_no_project_import_hides_in_a_function():
    hidden = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").split(".")[0] in APPS:
                        hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == []


@pytest.mark.parametrize(
    "code,home",
    [
        # Every change to the agreement is audited by one function.
        ("AgreementChange.objects.create", "smarketing/agreement/changes.py"),
        # A lead and its created event are written in one module (one lead, or a chunk).
        ("Lead.objects.bulk_create", "leads/services/create.py"),
        ("insert_pair(", "leads/services/create.py"),
        # Nothing but the transitions' one helper assigns a lead's stage.
        ("lead.stage = ", "leads/services/base.py"),
    ],
)
def test_a_rule_is_written_in_one_place(code, home):
    def uses(path: Path) -> bool:
        lines = (line.strip() for line in path.read_text().splitlines())
        return any(code in line and not line.startswith(("def ", "#", '"', "`")) for line in lines)

    assert sorted(str(path.relative_to(ROOT)) for path, _ in _modules() if uses(path)) == [home]
