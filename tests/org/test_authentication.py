"""API token authentication (smarketing.org.authentication): the token, its user and the
user's roles in one read, with DRF's answers for a bad token or an inactive user, and
nothing kept from one request to the next."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Lead
from smarketing.org.authentication import TokenAuthentication
from smarketing.org.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LEADS = "/api/leads/"
NEW_LEAD = {"email": "ann@acme.example", "first_name": "Ann", "company": "Acme", "source": "website"}


def with_token(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_token_user_and_roles_come_in_one_read(org, django_assert_num_queries):
    token = Token.objects.create(user=org.marketer)
    with django_assert_num_queries(1):
        user, auth = TokenAuthentication().authenticate_credentials(token.key)
        assert user._smarketing_roles == {Role.MARKETER}
    assert (user.pk, user.username, user.is_active, auth.pk, auth.user_id) == (
        org.marketer.pk,
        "marketer",
        True,
        token.key,
        org.marketer.pk,
    )
    assert auth.user is user
    # Read as the ORM reads them, on every database (SQLite returns text for a datetime).
    assert isinstance(auth.created, dt.datetime) and auth.created == token.created
    assert user.date_joined == org.marketer.date_joined and user.password == org.marketer.password


def test_roles_of_a_user_with_several_none_or_superuser(org):
    both = UserFactory(username="both", roles=[Role.MARKETER, Role.MANAGER])
    nobody = UserFactory(username="nobody", roles=[])
    root = UserFactory(username="root", roles=[], is_superuser=True)
    authenticate = TokenAuthentication().authenticate_credentials
    assert authenticate(Token.objects.create(user=both).key)[0]._smarketing_roles == {
        Role.MARKETER,
        Role.MANAGER,
    }
    assert authenticate(Token.objects.create(user=nobody).key)[0]._smarketing_roles == set()
    assert authenticate(Token.objects.create(user=root).key)[0]._smarketing_roles == {Role.ADMIN}


def test_a_create_with_a_token_runs_a_fixed_number_of_queries(org, django_assert_max_num_queries):
    """The token with the user's roles, the scoring definition with its rules, the lead and
    its event (one statement on PostgreSQL, in a savepoint here: the test's transaction),
    the likely duplicates. Outside a test's transaction, four on PostgreSQL."""
    client = with_token(org.marketer)
    with django_assert_max_num_queries(6 if connection.vendor == "postgresql" else 7):
        response = client.post(LEADS, NEW_LEAD, format="json")
    assert response.status_code == 201
    assert Lead.objects.get(pk=response.json()["id"]).created_by == org.marketer


def test_an_unknown_token_or_an_inactive_user_is_refused_as_before(org):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.post(LEADS, NEW_LEAD, format="json")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "Invalid token.",
        "fields": {},
    }
    client = with_token(org.marketer)
    org.marketer.is_active = False
    org.marketer.save()
    response = client.post(LEADS, NEW_LEAD, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "User inactive or deleted."
    assert not Lead.objects.exists()


def test_a_role_taken_away_counts_from_the_next_request(org):
    client = with_token(org.marketer)
    assert client.post(LEADS, NEW_LEAD, format="json").status_code == 201
    org.marketer.groups.remove(Group.objects.get(name=Role.MARKETER))
    response = client.post(LEADS, {**NEW_LEAD, "email": "bob@acme.example"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert Lead.objects.count() == 1
