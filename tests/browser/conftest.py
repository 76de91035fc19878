import pytest
from django.db import connection


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker, live_server):
    """The live server, torn down before the test database is dropped.

    A request thread of the live server can still hold its database connection for a
    moment after the browser closes its keep-alive socket; on PostgreSQL that blocks the
    final DROP DATABASE. Ending those sessions is test-harness cleanup, nothing more.
    """
    yield live_server
    live_server.stop()
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
