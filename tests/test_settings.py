"""Settings: every variable the code reads is documented, and importing settings only reads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The product's code and its two commands (bench/ and scripts/load* set their own
# variables for the processes they start).
READERS = [
    *(p for package in ("smarketing", "leads", "sla", "reports") for p in (ROOT / package).rglob("*.py")),
    ROOT / "manage.py",
    ROOT / "scripts" / "dev.py",
    ROOT / "tests" / "conftest.py",
]
READ = re.compile(
    r"""(?:env\.(?:str|int|bool|list|float|db_url|email_url)\(|os\.environ\.get\(|os\.getenv\(|os\.environ\[|"""
    r"""environ\.setdefault\()\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def _read_by_the_code() -> set[str]:
    names = set()
    for path in READERS:
        if "migrations" not in path.parts:
            names |= set(READ.findall(path.read_text()))
    return names


def test_the_scan_finds_what_settings_read():
    assert {
        "DATABASE_URL",
        "DJANGO_SECRET_KEY",
        "ROLLUPS_ENABLED",
        "AXES_FAILURE_LIMIT",
        "PORT",
    } <= _read_by_the_code()


def test_every_variable_is_in_env_example():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert sorted(_read_by_the_code() - documented) == []


def test_every_variable_is_in_the_readme_table():
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", (ROOT / "README.md").read_text(), re.M))
    assert sorted(_read_by_the_code() - documented) == []


@pytest.mark.parametrize("module", ["local", "production", "test"])
def test_importing_settings_makes_nothing(tmp_path, module):
    var = tmp_path / "var"
    env = {**os.environ, "SMARKETING_VAR_DIR": str(var), "DJANGO_SECRET_KEY": "x" * 50}
    env.pop("CELERY_BROKER_URL", None)  # the filesystem broker: the one that needs folders
    code = f"import smarketing.settings.{module} as s; print(s.CELERY_BROKER_URL)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not var.exists()
