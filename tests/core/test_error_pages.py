"""Errors look like the product (issue 22): a styled 404, 403 and 500 with a way back, and
an icon in the tab."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_a_missing_page_has_the_products_look_and_a_way_back(client, org):
    client.force_login(org.rep)
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing at this address" in html
    assert 'aria-label="Main"' in html and 'href="/leads/"' in html  # the navigation is there
    assert "favicon.svg" in html


def test_the_api_still_answers_a_missing_address_in_json(client, org):
    client.force_login(org.rep)
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_500_page_renders_without_a_request_or_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = render_to_string("500.html")
    assert "Something went wrong on our side" in html and 'href="/"' in html


def test_the_403_page_says_why_and_where_to_go(rf, org):
    from django.views.defaults import permission_denied

    request = rf.get("/somewhere/")
    request.user = org.rep
    response = permission_denied(request, PermissionError("Only managers see this."))
    html = response.content.decode()
    assert (
        response.status_code == 403 and "Only managers see this." in html and "Back to your home page" in html
    )


@override_settings(DEBUG=False)
def test_browsers_asking_for_favicon_ico_get_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
