"""Login lockout, CSRF on forms, revocable tokens, and production settings."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

PASSWORD = "pass-for-tests-1"


def log_in(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_username_out_for_a_while(org, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "rep", "wrong").status_code == 200  # the form again, with the error
    assert log_in(client, "rep", "wrong").status_code == 429  # the fifth locks the username out
    locked = log_in(client, "rep", PASSWORD)  # even the right password now
    assert locked.status_code == 429
    assert "logging in is blocked for 15 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another username from the same address is not locked.
    assert log_in(Client(), "marketer", PASSWORD).status_code == 302
    # The API's token endpoint is locked for that username too, with a JSON error.
    api = APIClient()
    refused = api.post("/api/auth/token/", {"username": "rep", "password": PASSWORD}, format="json")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "locked_out"
    # After the cool-off, the right password works and resets the count.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)):
        assert log_in(Client(), "rep", PASSWORD).status_code == 302


def test_token_endpoint_counts_failures_and_tokens_can_be_revoked(org, settings):
    api = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = api.post("/api/auth/token/", {"username": "marketer", "password": "nope"}, format="json")
        assert wrong.status_code == 401
    assert api.post("/api/auth/token/", {"username": "marketer", "password": "nope"}).status_code == 429
    assert api.post("/api/auth/token/", {"username": "marketer", "password": PASSWORD}).status_code == 429
    ok = api.post("/api/auth/token/", {"username": "rep", "password": PASSWORD}, format="json")
    assert ok.status_code == 201
    token = ok.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/me/").json()["username"] == "rep"
    assert api.delete("/api/auth/token/").status_code == 204
    assert api.get("/api/me/").status_code == 401  # revoked


def test_forms_need_the_csrf_token(org, make_mql):
    lead = make_mql()
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.rep)
    refused = client.post(f"/leads/{lead.pk}/act/accept/", {"version": lead.version})
    assert refused.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == "mql"
    assert log_in(Client(enforce_csrf_checks=True), "rep", PASSWORD).status_code == 403


@pytest.mark.parametrize("password", ["short", "password123", "12345678901"])
def test_weak_passwords_are_refused(org, password):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password(password, user=org.rep)
