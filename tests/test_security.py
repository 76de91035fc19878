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


# --- who the client is, behind a proxy (issue 20, class 1) ----------------------------------


def _through(client, forwarded_for: str, proxy: str = "10.0.0.2"):
    """Requests as a reverse proxy at `proxy` forwards them for `forwarded_for`."""
    client.defaults.update(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded_for)
    return client


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXIES = 1


def test_behind_a_proxy_someone_elses_wrong_passwords_do_not_lock_a_user_out(org, settings, behind_one_proxy):
    attacker = _through(Client(), "203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        log_in(attacker, "rep", "wrong")
    assert log_in(attacker, "rep", PASSWORD).status_code == 429  # the attacker's address is locked out
    # The rep, through the same proxy from their own address, logs in.
    assert log_in(_through(Client(), "198.51.100.7"), "rep", PASSWORD).status_code == 302


def test_without_a_trusted_proxy_a_forged_forwarded_for_changes_nothing(org, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(_through(Client(), f"203.0.113.{n}", proxy="192.0.2.1"), "rep", "wrong")
    # Five different forged addresses, one real one: locked out.
    assert log_in(_through(Client(), "203.0.113.99", proxy="192.0.2.1"), "rep", PASSWORD).status_code == 429


@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/inbound/"])
def test_a_changing_forwarded_for_does_not_escape_the_anonymous_rate_limit(org, monkeypatch, path):
    from django.core.cache import cache

    from smarketing.org.security import ClientRateThrottle

    cache.clear()
    monkeypatch.setattr(ClientRateThrottle, "rate", "3/minute", raising=False)
    answers = [
        _through(APIClient(), f"203.0.113.{n}", proxy="192.0.2.1").post(path, {}, format="json").status_code
        for n in range(5)
    ]
    assert answers[:3] != [429] * 3 and answers[3:] == [429, 429]


def test_lockouts_and_rate_limits_see_the_same_client(rf, settings, behind_one_proxy):
    from axes.helpers import get_client_ip_address

    from smarketing.org.security import ClientRateThrottle, client_ip

    for forwarded, expected in [
        ("198.51.100.7", "198.51.100.7"),
        ("6.6.6.6, 198.51.100.7", "198.51.100.7"),
        ("", "10.0.0.2"),
    ]:
        request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
        assert client_ip(request) == ClientRateThrottle().get_ident(request) == expected
        assert get_client_ip_address(request) == expected
