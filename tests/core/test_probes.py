"""/healthz and /readyz: what a load balancer probes (docs/operations.md)."""

from __future__ import annotations

import importlib
import re
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder

from smarketing.celery import app as celery_app
from smarketing.ops import probes

NOWHERE = "redis://127.0.0.1:9/0"  # nothing listens on the discard port


@pytest.fixture(autouse=True)
def _migrations_not_yet_seen(monkeypatch):
    """Each test reads the migrations afresh (a probe remembers once they were applied)."""
    monkeypatch.setattr(probes, "_migrated", False)


def test_healthz_answers_without_the_database(client):
    # No django_db mark: a query would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_names_each_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "migrations": "ok"},
    }
    assert not response.cookies  # no session


@pytest.mark.django_db
def test_probes_answer_any_host_over_http_with_no_login_csrf_or_redirect(client, settings):
    # Given production's HTTPS redirect and a host list that does not name the node's
    # address (the load balancer comes by address, over plain HTTP, with no cookie)
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["smarketing.example.com"]
    for path in ("/healthz", "/readyz"):
        # Then the probes answer, not a redirect, a 400 for the host, or the login page
        assert client.get(path, HTTP_HOST="10.0.3.17:8000").status_code == 200
        assert client.head(path, HTTP_HOST="10.0.3.17").status_code == 200
        # and a POST is refused as a method (not for CSRF), changing nothing
        assert client.post(path, HTTP_HOST="10.0.3.17").status_code == 405
    # The rest of the site still refuses the host.
    assert client.get("/login/", HTTP_HOST="10.0.3.17").status_code == 400


def test_production_exempts_the_probes_from_the_https_redirect(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 50)
    production = importlib.import_module("smarketing.settings.production")
    exempt = production.SECURE_REDIRECT_EXEMPT
    for path in ("healthz", "readyz", "metrics"):
        assert any(re.search(pattern, path) for pattern in exempt), path
    assert not any(re.search(pattern, "login/") for pattern in exempt)


@pytest.mark.django_db
def test_readyz_fails_when_the_database_does_not_answer(client, caplog):
    down = OperationalError('connection to server at "db.internal" (10.0.0.5), port 5432 failed')
    with mock.patch.object(connection, "ensure_connection", side_effect=down):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["database"] == "failed: OperationalError"
    assert body["checks"]["migrations"] == "not checked"
    assert body["checks"]["broker"] == "ok"
    # What the database said goes to the log, not to whoever probes.
    assert "db.internal" not in response.content.decode()
    assert "db.internal" in caplog.text


@pytest.fixture
def broker_down(celery_conf):
    """The app's broker is an address nothing answers at."""
    celery_conf(broker_write_url=NOWHERE)


@pytest.mark.django_db
def test_readyz_fails_when_the_broker_does_not_answer(client, broker_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"].startswith("failed: ")
    assert checks["database"] == checks["migrations"] == "ok"


@pytest.fixture
def celery_conf():
    """Change the Celery app's configuration for one test (put back after it)."""
    saved = {}

    def change(**values):
        for key, value in values.items():
            saved.setdefault(key, celery_app.conf.get(key))
            celery_app.conf[key] = value

    yield change
    for key, value in saved.items():
        celery_app.conf[key] = value


@pytest.mark.django_db
def test_readyz_fails_when_the_filesystem_brokers_folder_is_missing(client, tmp_path, celery_conf):
    # The embedded default: the broker is a folder, which must be there and writable.
    missing = str(tmp_path / "gone")
    celery_conf(
        broker_write_url="filesystem://",
        broker_transport_options={"data_folder_in": missing, "data_folder_out": missing},
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "failed: OSError"

    (tmp_path / "gone").mkdir()
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_fails_while_a_migration_is_not_applied(client):
    # Given a migration on disk that the database has not applied (a deploy's code ahead
    # of its `migrate`): here, the row saying so removed (rolled back after the test)
    MigrationRecorder(connection).record_unapplied("ops", "0001_initial")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 unapplied"

    # Once applied, ready (and remembered: the next probe reads no migration files).
    MigrationRecorder(connection).record_applied("ops", "0001_initial")
    assert client.get("/readyz").status_code == 200
    assert probes._migrated is True
    with mock.patch.object(probes, "MigrationExecutor", side_effect=AssertionError("read again")):
        assert client.get("/readyz").status_code == 200
