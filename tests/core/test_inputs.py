"""Query parameters the database or the calendar cannot take (found by fuzzing the API)
are refused with a 400 and a message, never a server error."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

HUGE = "99999999999999999999999"
BAD = [
    ("/leads/", {"owner": HUGE}),
    ("/leads/", {"campaign": "-" + HUGE}),
    ("/leads/", {"week": "0001-01-01", "entered": "mql"}),
    ("/leads/", {"as_of": "9999-12-31", "stage_then": "mql"}),
    ("/api/leads/", {"clock_owner": HUGE, "sla": "met"}),
    ("/api/leads/", {"reason": HUGE, "outcome": "rejected"}),
    ("/api/leads/", {"score_min": HUGE}),
    ("/api/handoffs/", {"campaign": "-13501974848772089856"}),
    ("/api/handoffs/", {"week": "0001-01-01"}),
    ("/reports/", {"week_to": "0001-01-03"}),
    ("/reports/", {"team": HUGE}),
    ("/api/reports/dashboard/", {"owner": HUGE}),
    ("/reports/funnel/", {"as_of": "0001-01-01"}),
]


@pytest.mark.parametrize(("url", "params"), BAD)
def test_out_of_range_input_is_a_clear_400(client, org, url, params):
    if url.startswith("/api/"):
        api = APIClient()
        api.force_authenticate(org.sales_manager)
        response = api.get(url, params)
        body = response.json()
        # Malformed (400), or well-formed and refused by a rule (422): never an answer, never a 500.
        assert (response.status_code, body["error"]["code"]) in {(400, "malformed"), (422, "invalid")}, body
        assert body["error"]["message"]
    else:
        client.force_login(org.sales_manager)
        response = client.get(url, params)
        assert response.status_code == 400
        html = response.content.decode()
        messages = ("between 1900 and 2200", "valid", "No such", "less than or equal to")
        assert 'role="alert"' in html and any(message in html for message in messages)


@pytest.mark.parametrize(
    "page, status, message",
    [
        ("0", 400, "A page is a whole number from 1."),
        ("x", 400, "A page is a whole number from 1."),
        ("99", 404, "There is no page 99: the last page is 1."),
    ],
)
def test_bad_pages_are_told_apart(org, page, status, message):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(org.rep)
    response = api.get("/api/reasons/", {"page": page})
    assert response.status_code == status
    assert message in response.json()["error"]["message"]
    assert api.get("/api/reasons/", {"page": "1"}).json()["count"] > 0
