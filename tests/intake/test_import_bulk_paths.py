"""The import's fast paths give the same answers as the plain ones: COPY writes the rows
`bulk_create` would, the remembering scorer scores as `Scorer` does, the email look-up
finds what the ORM finds; and the lead indexes migration 0017 dropped are not missed by
the list's or the admin's search."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.utils import timezone

from leads import services
from leads.models import Lead
from smarketing.agreement import scoring
from smarketing.agreement.models import FitField, FitOperator, RuleKind, ScoringRule
from smarketing.core import bulk
from smarketing.intake import plans
from smarketing.intake.models import ImportJob, ImportRow, RowOutcome
from tests.factories import LeadFactory

TRICKY = [
    "plain",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash",
    "\\N",
    "",
    "Müller ✓",
    "a\\tb",
]


def _job(user) -> ImportJob:
    return ImportJob.objects.create(
        created_by=user, file_name="x.csv", stored_path="/nowhere", encoding="utf-8", delimiter=","
    )


def _rows_of(job: ImportJob) -> list[tuple]:
    return list(
        job.rows.order_by("row_number").values_list(
            "row_number", "outcome", "message", "email", "lead_id", "values"
        )
    )


def test_insert_rows_writes_what_bulk_create_writes(org, monkeypatch):
    lead = LeadFactory()
    shared = {"Note": "one dict shared by rows", "tab": "\t", "nested": [1, None, "x\\y"]}
    rows = [
        {
            "row_number": n,
            "outcome": RowOutcome.FAILED if n % 2 else RowOutcome.SKIPPED,
            "message": text,
            "email": TRICKY[(n + 3) % len(TRICKY)],
            "lead_id": lead.pk if n % 3 else None,
            "values": shared if n % 4 == 0 else {"Email": text, "Row": n, "Empty": "", "None": None},
        }
        for n, text in enumerate(TRICKY * 3, start=2)
    ]
    fast, plain = _job(org.marketer), _job(org.marketer)
    bulk.insert_rows(ImportRow, rows, {"job_id": fast.pk})
    monkeypatch.setattr(bulk, "uses_copy", lambda: False)
    bulk.insert_rows(ImportRow, rows, {"job_id": plain.pk})
    assert _rows_of(fast) == _rows_of(plain)
    assert len(_rows_of(fast)) == len(rows)


def test_insert_rows_writes_every_kind_of_column_as_bulk_create(org, monkeypatch):
    """Numbers, dates, booleans, NULLs and JSON in leads (COPY on PostgreSQL)."""
    now = timezone.now()
    common = {**bulk.defaults(Lead), "created_at": now, "updated_at": now, "stage_entered_at": now}
    for name in ("id", "email", "company", "company_size", "score_receipt", "deal_amount", "closed_on"):
        common.pop(name)
    receipt = [{"rule": 1, "kind": "fit", "label": "Tab\tand \\", "points": 5}]
    rows = [
        {
            "email": f"{prefix}-{n}@copy.example",
            "company": TRICKY[n % len(TRICKY)],
            "company_size": None if n % 2 else n * 10,
            "score_receipt": receipt if n % 2 else [],
            "deal_amount": None if n % 3 else "12.50",
            "closed_on": None if n % 3 else dt.date(2026, 1, 2),
        }
        for prefix in ("fast", "plain")
        for n in range(len(TRICKY))
    ]
    half = len(rows) // 2
    if bulk.uses_copy():
        for row, lead_id in zip(rows[:half], bulk.next_ids(Lead, half), strict=True):
            row["id"] = lead_id
    bulk.insert_rows(Lead, rows[:half], common)
    monkeypatch.setattr(bulk, "uses_copy", lambda: False)
    for row in rows[half:]:
        row.pop("id", None)
    bulk.insert_rows(Lead, [{k: v for k, v in row.items() if k != "id"} for row in rows[half:]], common)
    columns = ["company", "company_size", "score_receipt", "deal_amount", "closed_on", "stage", "created_at"]

    def written(prefix):
        leads = Lead.objects.filter(email__startswith=f"{prefix}-").order_by("email")
        return [(lead.email.split("-", 1)[1], *(getattr(lead, c) for c in columns)) for lead in leads]

    assert written("fast") == written("plain")
    assert len(written("fast")) == half


@pytest.fixture
def many_rules(default_rules):
    """Rules on every kind of field and test, so the remembering scorer meets them all."""
    specs = [
        (FitField.EMAIL_DOMAIN, FitOperator.IN, "acme.io, corp.example", 7),
        (FitField.PHONE, FitOperator.IS_SET, "", 3),
        (FitField.WEBSITE, FitOperator.CONTAINS, "shop", 4),
        (FitField.COMPANY_SIZE, FitOperator.LTE, "10", -5),
        (FitField.SOURCE, FitOperator.EQUALS, "webinar", 6),
        (FitField.COMPANY, FitOperator.CONTAINS, "GmbH, AG", 2),
    ]
    for position, (fit_field, operator, value, points) in enumerate(specs, start=50):
        ScoringRule.objects.create(
            kind=RuleKind.FIT,
            label=f"{fit_field} {operator}",
            field=fit_field,
            operator=operator,
            value=value,
            points=points,
            position=position,
        )
    return scoring.Scorer.load()


def test_the_scorer_remembers_new_leads_scores_exactly(many_rules):
    """A lead without engagements is scored from what the scorer remembers of each rule's
    answer per value and of each set of matched rules: the same as working it out."""
    scorer = many_rules
    values = itertools.product(
        ["VP Sales", "CTO", "Analyst", ""],
        [None, 5, 10, 450, 5000],
        ["DE", "US", ""],
        ["ann@acme.io", "bob@corp.example", "cy@gmail.com"],
        ["", "+49 1"],
        ["https://shop.example", ""],
        ["webinar", "other"],
        ["Acme GmbH", "Beta"],
    )
    for title, size, country, email, phone, website, source, company in values:
        lead = Lead(
            email=email,
            job_title=title,
            company_size=size,
            country=country,
            phone=phone,
            website=website,
            source=source,
            company=company,
        )
        assert scorer.score(lead, []) == scorer._score(lead, [], None)
    assert len(scorer._scored) < 4 * 5 * 3 * 3 * 2 * 2 * 2 * 2  # combinations were shared


def test_a_lead_with_engagements_is_worked_out_not_remembered(many_rules, monkeypatch):
    calls = []
    monkeypatch.setattr(
        scoring.Scorer,
        "_score",
        lambda self, lead, engagements, now: calls.append(len(engagements)) or (1, []),
    )
    remembered = dict(many_rules._scored)
    assert many_rules.score(Lead(email="a@acme.io"), ["an engagement"]) == (1, [])
    assert calls == [1]
    assert many_rules._scored == remembered


def test_the_email_look_up_finds_what_the_orm_finds(db):
    found = {LeadFactory(email=f"known{n}@acme.io").pk for n in range(3)}
    emails = {"known0@acme.io", "known1@acme.io", "known2@acme.io", "new@acme.io", "KNOWN0@ACME.IO"}
    assert set(plans.ids_of_emails(emails)) == found
    assert plans.ids_of_emails(set()) == []


def test_the_dropped_indexes_are_gone_and_the_search_still_uses_its_own(require_postgres, org):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'leads_lead'")
        indexes = {row[0] for row in cursor.fetchall()}
    gone = {
        "lead_email_trgm",
        "lead_first_name_trgm",
        "lead_last_name_trgm",
        "lead_company_trgm",
        "leads_lead_campaign_id_5dd7a82a",
        "leads_lead_owner_id_1f4568d0",
        "leads_lead_qualified_by_id_86b1a411",
        "leads_lead_email_93d5b817_like",
    }
    assert not gone & indexes
    # The ones that serve the same lookups stay.
    assert {
        "lead_search_trgm",
        "lead_campaign_stage",
        "lead_owner_stage",
        "lead_qualified_by_stage",
    } <= indexes
    ann = LeadFactory(first_name="Annika", last_name="Zyskowski", company="Quuxly", email="annika@quuxly.io")
    LeadFactory(first_name="Bert", last_name="Other", company="Else", email="bert@else.io")
    for word in ("zyskow", "ANNIKA@QUUX", "quuxly", "Annika Zyskowski"):
        assert list(Lead.objects.search(word).values_list("pk", flat=True)) == [ann.pk], word


@pytest.fixture
def admin_client(client, org):
    org.admin.is_staff = True
    org.admin.is_superuser = True
    org.admin.save()
    client.force_login(org.admin)
    return client


def test_the_admin_searches_leads_and_their_events_with_the_list_search(admin_client, org):
    ann = LeadFactory(first_name="Annika", last_name="Zyskowski", company="Quuxly", email="annika@quuxly.io")
    bert = LeadFactory(first_name="Bert", last_name="Other", company="Else", email="bert@else.io")
    page = admin_client.get("/admin/leads/lead/", {"q": "zyskow"})
    assert page.status_code == 200
    assert ann.email.encode() in page.content and bert.email.encode() not in page.content
    from leads.models import EventType, LeadEvent

    for lead in (ann, bert):
        LeadEvent.objects.create(lead=lead, type=EventType.CREATED, to_stage="lead", data={})
    page = admin_client.get("/admin/leads/leadevent/", {"q": "annika@quuxly"})
    assert page.status_code == 200
    assert b"Annika" in page.content and b"Bert" not in page.content
    assert admin_client.get("/admin/leads/lead/", {"q": " "}).status_code == 200


@pytest.mark.parametrize(
    "email",
    [
        "ann@acme.io",
        "ann.o'neil+tag@sub.acme.co.uk",
        "ann@localhost",
        "ann@[127.0.0.1]",
        "ann@[IPv6:::1]",
        "ann@[300.1.1.1]",
        "ann@-acme.io",
        "ann@acme",
        "ann@acme..io",
        "ann@müller.de",
        "ann@@acme.io",
        "@acme.io",
        "ann@",
        "ann",
        "",
        "a" * 64 + "@" + "b" * 250 + ".io",
        "a" * 65 + "@acme.io",
        '"quoted name"@acme.io',
        "ann@acme.io.",
    ],
)
def test_the_remembering_email_check_answers_as_the_validator_does(email):
    from django.core.exceptions import ValidationError
    from django.core.validators import EmailValidator

    try:
        EmailValidator()(email)
        expected = True
    except ValidationError:
        expected = False
    assert services.email_valid(email) is expected
    assert services.email_valid(email) is expected  # and again, from what it remembered
