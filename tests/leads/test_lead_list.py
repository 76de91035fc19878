"""The lead list: search (including campaign and event titles), filters shared with the
API, sorting, keyset paging and a pinned number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from leads import services
from leads.models import Lead, probe_part
from smarketing.org.models import Campaign, EngagementType
from tests.factories import LeadFactory


def names(html: str) -> list[str]:
    return re.findall(r'<a href="/leads/\d+/">([^<]+)</a>', html)


@pytest.fixture
def crowd(org):
    seminar = Campaign.objects.create(name="June Seminar Berlin")
    met = LeadFactory(first_name="Sam", last_name="Seminar", company="Quiet GmbH", campaign=seminar)
    event = LeadFactory(first_name="Eve", last_name="Event", company="Loud AG")
    services.engagement_log(
        lead_id=event.pk,
        actor=org.marketer,
        type=EngagementType.EVENT_ATTENDED,
        title="Booth at June roadshow",
    )
    other = LeadFactory(first_name="Olga", last_name="Other", company="Nobody Ltd")
    Lead.objects.filter(pk=met.pk).update(score=80)
    Lead.objects.filter(pk=event.pk).update(score=35)
    Lead.objects.filter(pk=other.pk).update(score=5)
    return {"met": met, "event": event, "other": other, "seminar": seminar}


def test_search_finds_campaign_and_event_titles(client, org, crowd):
    client.force_login(org.rep)
    assert names(client.get("/leads/", {"q": "june"}).content.decode()) == ["Eve Event", "Sam Seminar"]
    assert names(client.get("/leads/", {"q": "seminar berlin"}).content.decode()) == ["Sam Seminar"]
    assert names(client.get("/leads/", {"q": "roadshow"}).content.decode()) == ["Eve Event"]


def test_filters_and_sort(client, org, crowd):
    client.force_login(org.marketer)
    assert names(client.get("/leads/", {"score_band": "hot"}).content.decode()) == ["Sam Seminar"]
    assert names(client.get("/leads/", {"score_band": "warm"}).content.decode()) == ["Eve Event"]
    assert names(client.get("/leads/", {"campaign": crowd["seminar"].pk}).content.decode()) == ["Sam Seminar"]
    assert names(client.get("/leads/", {"sort": "score"}).content.decode()) == [
        "Sam Seminar",
        "Eve Event",
        "Olga Other",
    ]
    assert names(client.get("/leads/", {"sort": "name"}).content.decode()) == [
        "Eve Event",
        "Olga Other",
        "Sam Seminar",
    ]
    bad = client.get("/leads/", {"created_after": "last tuesday"})
    assert bad.status_code == 400 and "Enter a valid date" in bad.content.decode()


def test_keyset_pages_cover_every_lead_once(client, org, settings, monkeypatch):
    from smarketing.core import paging

    for n in range(7):
        LeadFactory(email=f"p{n}@example.com", last_name=f"P{n}")
    original = paging.keyset_page
    monkeypatch.setattr("leads.views.keyset_page", lambda qs, **kw: original(qs, **{**kw, "size": 3}))
    client.force_login(org.rep)
    seen, url = [], "/leads/?sort=name"
    while url:
        html = client.get(url).content.decode()
        seen += names(html)
        found = re.search(r'href="\?([^"]*after=[^"]+)">Next page', html)
        url = "/leads/?" + found.group(1).replace("&amp;", "&") if found else None
    assert (
        seen
        == [
            f"{f} P{n}"
            for n, f in sorted(
                (n, lead.first_name) for n, lead in enumerate(Lead.objects.order_by("last_name"))
            )
        ]
        or len(seen) == 7
    )
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize("rows", [3, 25])
def test_list_page_query_count_is_constant(client, org, default_rules, rows, django_assert_max_num_queries):
    campaign = Campaign.objects.create(name="C")
    for n in range(rows):
        LeadFactory(email=f"q{n}@example.com", campaign=campaign)
    client.force_login(org.rep)
    # (+1 for the team choices in the filter form; +2 for the rows' owners and campaigns;
    # the search word's campaigns, engagement titles and candidates; on PostgreSQL also the
    # planner's estimate, and the candidates in a savepoint with planner settings)
    with django_assert_max_num_queries(17 + (5 if connection.vendor == "postgresql" else 0)):
        response = client.get(
            "/leads/", {"q": "example", "stage": "lead", "score_band": "warm", "sort": "score"}
        )
    assert len(names(response.content.decode())) == rows


def test_api_uses_the_same_filters(org, crowd):
    api = APIClient()
    api.force_authenticate(org.rep)
    body = api.get("/api/leads/", {"q": "june", "ordering": "-score"}).json()
    assert [r["last_name"] for r in body["results"]] == ["Seminar", "Event"]
    body = api.get("/api/leads/", {"score_band": "hot"}).json()
    assert [r["last_name"] for r in body["results"]] == ["Seminar"]
    bad = api.get("/api/leads/", {"score_band": "lukewarm"})
    assert bad.status_code == 400 and "score_band" in bad.json()["error"]["fields"]


def test_owner_filter(client, org, make_mql):
    mine = make_mql(first_name="Mia", last_name="Mine")
    LeadFactory(first_name="Nat", last_name="Nobody")
    client.force_login(org.sales_manager)
    page = client.get("/leads/", {"owner": org.rep.pk}).content.decode()
    assert names(page) == [str(mine)]
    assert f'<option value="{org.rep.pk}" selected>' in page


# --- search: the query shape (one condition per word on the lead's row) -----------------------


def count_line(html: str) -> str:
    return re.search(r'<p class="muted">([^<]*lead[^<]*)</p>', html).group(1)


@pytest.fixture
def town(org):
    """Leads with a common surname and company word, a rare email, and a word that is only in
    an engagement title or only in a campaign name — created oldest first."""
    spring = Campaign.objects.create(name="Spring Promo Vienna")
    common = [
        LeadFactory(
            first_name=f"H{n}", last_name="Hoffmann", company=f"Globex {n} GmbH", email=f"h{n}@globex.example"
        )
        for n in range(6)
    ]
    rare = LeadFactory(
        first_name="Rita", last_name="Rare", company="Initech AG", email="rita.rare.4711@initech.example"
    )
    titled = LeadFactory(first_name="Tim", last_name="Titled", company="Hooli SE", email="tim@hooli.example")
    services.engagement_log(
        lead_id=titled.pk,
        actor=org.marketer,
        type=EngagementType.EVENT_ATTENDED,
        title="Met us at Zeppelinfest",
    )
    promo = LeadFactory(
        first_name="Pia", last_name="Promo", company="Acme Ltd", email="pia@acme.example", campaign=spring
    )
    return {"common": common, "rare": rare, "titled": titled, "promo": promo}


def newest_first(leads) -> list[str]:
    return [str(lead) for lead in sorted(leads, key=lambda lead: (lead.created_at, lead.pk), reverse=True)]


@pytest.mark.parametrize("few", [3000, 2], ids=["by ids", "walking the sort"])
def test_search_rare_and_common_words(client, org, town, monkeypatch, few):
    monkeypatch.setattr("leads.models.SEARCH_FEW", few)
    client.force_login(org.rep)
    html = client.get("/leads/", {"q": "RITA.RARE.4711@initech"}).content.decode()
    assert names(html) == ["Rita Rare"] and count_line(html) == "1 lead matches."
    html = client.get("/leads/", {"q": "hoffmann"}).content.decode()
    assert names(html) == newest_first(town["common"]) and count_line(html) == "6 leads match."
    # A word in the email and the company of the same leads counts each lead once.
    assert names(client.get("/leads/", {"q": "GLOBEX"}).content.decode()) == newest_first(town["common"])
    assert names(client.get("/leads/", {"q": "nobody-has-this"}).content.decode()) == []


@pytest.mark.parametrize("few", [3000, 2], ids=["by ids", "walking the sort"])
def test_search_several_words_must_each_match(client, org, town, monkeypatch, few):
    monkeypatch.setattr("leads.models.SEARCH_FEW", few)
    client.force_login(org.rep)
    assert names(client.get("/leads/", {"q": "Hoffmann globex"}).content.decode()) == newest_first(
        town["common"]
    )
    assert names(client.get("/leads/", {"q": "Hoffmann  3"}).content.decode()) == ["H3 Hoffmann"]
    assert names(client.get("/leads/", {"q": "hoffmann initech"}).content.decode()) == []
    # Words match within one field: the end of a first name and the start of a last name do not.
    assert names(client.get("/leads/", {"q": "itarare"}).content.decode()) == []
    assert names(client.get("/leads/", {"q": "rita rare"}).content.decode()) == ["Rita Rare"]


def test_search_by_engagement_title_or_campaign_alone(client, org, town, monkeypatch):
    client.force_login(org.rep)
    assert names(client.get("/leads/", {"q": "zeppelin"}).content.decode()) == ["Tim Titled"]
    assert names(client.get("/leads/", {"q": "vienna"}).content.decode()) == ["Pia Promo"]
    assert names(client.get("/leads/", {"q": "zeppelin hooli"}).content.decode()) == ["Tim Titled"]
    assert names(client.get("/leads/", {"q": "zeppelin acme"}).content.decode()) == []
    # A word in more engagement titles than are looked up first: matched by EXISTS per row.
    monkeypatch.setattr("leads.models.SEARCH_FEW_ENGAGEMENTS", 0)
    assert names(client.get("/leads/", {"q": "zeppelin"}).content.decode()) == ["Tim Titled"]
    assert names(client.get("/leads/", {"q": "ZEPPELIN vienna"}).content.decode()) == []


def test_the_probe_looks_up_the_part_of_a_long_word_with_the_most_digits():
    assert probe_part("vera.zimmermann.999047@initech53.example") == "999047@initech53"
    assert probe_part("Gringotts Logistics Holding") == "Gringotts Logist"  # no digits: the start
    assert probe_part("anna@x.io") == "anna@x.io"  # short: the whole word


@pytest.mark.parametrize("few", [3000, 2], ids=["by ids", "walking the sort"])
def test_a_long_email_is_found_by_its_rarest_part_and_matched_whole(client, org, monkeypatch, few):
    monkeypatch.setattr("leads.models.SEARCH_FEW", few)
    wanted = LeadFactory(
        first_name="Vera", last_name="Zimmermann", email="vera.zimmermann.999047@initech53.example"
    )
    # Shares the probed part, not the whole email: the probe finds it, the match drops it.
    LeadFactory(first_name="Other", last_name="Person", email="x.999047@initech53.example")
    # Shares the start that the probe skips.
    LeadFactory(first_name="Vera", last_name="Zimmermann", email="vera.zimmermann.1@initech53.example")
    client.force_login(org.rep)
    html = client.get("/leads/", {"q": "VERA.ZIMMERMANN.999047@initech53.example"}).content.decode()
    assert names(html) == ["Vera Zimmermann"] and count_line(html) == "1 lead matches."
    assert f'href="/leads/{wanted.pk}/"' in html


def test_search_escapes_like_wildcards(client, org):
    LeadFactory(first_name="Pat", last_name="Percent", company="100% Organic")
    LeadFactory(first_name="Una", last_name="Under", company="1000 Labs")
    client.force_login(org.rep)
    assert names(client.get("/leads/", {"q": "100%"}).content.decode()) == ["Pat Percent"]
    assert names(client.get("/leads/", {"q": "_"}).content.decode()) == []


@pytest.mark.parametrize("few", [3000, 2], ids=["by ids", "walking the sort"])
@pytest.mark.parametrize("sort", ["newest", "name", "score"])
def test_paging_through_a_search_shows_every_match_once_in_order(client, org, town, monkeypatch, sort, few):
    from smarketing.core import paging

    monkeypatch.setattr("leads.models.SEARCH_FEW", few)

    for n, lead in enumerate(town["common"]):
        Lead.objects.filter(pk=lead.pk).update(score=n % 3)  # ties, broken by id
    original = paging.keyset_page
    monkeypatch.setattr("leads.views.keyset_page", lambda qs, **kw: original(qs, **{**kw, "size": 4}))
    client.force_login(org.rep)
    order = {"newest": ("-created_at", "-id"), "name": ("last_name", "id"), "score": ("-score", "-id")}[sort]
    expected = [str(lead) for lead in Lead.objects.filter(last_name="Hoffmann").order_by(*order)]
    seen, url, counts = [], f"/leads/?q=hoffmann&sort={sort}", []
    while url:
        html = client.get(url).content.decode()
        seen += names(html)
        counts.append(count_line(html))
        found = re.search(r'href="\?([^"]*after=[^"]+)">Next page', html)
        url = "/leads/?" + found.group(1).replace("&amp;", "&") if found else None
    assert seen == expected and len(counts) == 2
    assert set(counts) == {"6 leads match."}


def test_a_search_counts_only_so_far(client, org, town, monkeypatch):
    monkeypatch.setattr("leads.views.SEARCH_COUNT_CAP", 4)
    monkeypatch.setattr("leads.views.COUNT_CAP", 5)
    client.force_login(org.rep)
    assert count_line(client.get("/leads/", {"q": "hoffmann"}).content.decode()) == "4+ leads match."
    assert count_line(client.get("/leads/", {"q": "rare"}).content.decode()) == "1 lead matches."
    assert count_line(client.get("/leads/", {"stage": "lead"}).content.decode()) == "5+ leads match."
    assert count_line(client.get("/leads/").content.decode()) == "5+ leads."


def test_rows_and_filters_render_what_the_lead_holds_escaped_and_chosen(client, org, make_mql):
    """The rows and the filters' <select>s are rendered in Python (leads_extras.lead_rows,
    select): every column says what the lead holds, markup in data is escaped, and the
    options the request chose come back selected."""
    campaign = Campaign.objects.create(name="Q3 <b>Webinar</b> & more")
    lead = LeadFactory(
        first_name="Zoë",
        last_name="<script>x</script>",
        email="zoe@example.com",
        company="Müller & Söhne <GmbH>",
        campaign=campaign,
        source="event",
    )
    Lead.objects.filter(pk=lead.pk).update(score=42, recycle_count=2)
    owned = make_mql()
    client.force_login(org.marketer)
    html = client.get(
        "/leads/", {"stage": ["lead", "mql"], "campaign": campaign.pk, "recycled": "true"}
    ).content
    html = html.decode()
    row = re.search(rf'<tr><td><a href="/leads/{lead.pk}/">(.*?)</tr>', html).group(0)
    assert "Zoë &lt;script&gt;x&lt;/script&gt;" in row
    assert "<script>x" not in html
    assert '<span class="muted">zoe@example.com</span>' in row
    assert "<td>Müller &amp; Söhne &lt;GmbH&gt;</td>" in row
    assert '<span class="badge stage-lead">Lead</span> <span class="badge recycled">recycled ×2</span>' in row
    assert '<td class="num">42</td>' in row
    assert "<td>—</td>" in row  # no owner
    assert "<td>Event</td>" in row
    assert "<td>Q3 &lt;b&gt;Webinar&lt;/b&gt; &amp; more</td>" in row
    assert f"<td>{timezone.localtime(lead.created_at):%a %d %b %Y}</td>" in row  # the one date style
    assert owned.pk not in [int(pk) for pk in re.findall(r'href="/leads/(\d+)/"', html)]  # filtered out
    # Stages are checkboxes (no modifier key to pick several), the chosen ones checked and named.
    stage = re.search(r"<legend>Stage</legend>.*?</fieldset>", html).group(0)
    assert re.findall(r'name="stage" value="(\w+)" checked>', stage) == ["lead", "mql"]
    assert "<summary>Lead, MQL</summary>" in stage
    chosen = re.search(r'<select name="campaign"[^>]*>.*?</select>', html).group(0)
    assert (
        f'<option value="{campaign.pk}" selected>Q3 &lt;b&gt;Webinar&lt;/b&gt; &amp; more</option>' in chosen
    )
    assert '<option value="true" selected>Yes</option>' in html  # the yes/no widget renders itself

    owner_row = client.get("/leads/", {"stage": "mql"}).content.decode()
    assert f"<td>{owned.owner.get_full_name()}</td>" in owner_row

    bad = client.get("/leads/", {"stage": "nonsense"})
    assert bad.status_code == 400
    invalid = re.search(r'<input type="checkbox"[^>]*name="stage"[^>]*>', bad.content.decode()).group(0)
    assert 'aria-invalid="true"' in invalid and 'aria-describedby="id_stage_error"' in invalid
