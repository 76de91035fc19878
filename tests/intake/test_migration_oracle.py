"""The migration import's oracle (tests/intake/migration_oracle.py) and the export files
(tests/intake/migration_files.py), on rows written by hand: the spec's own examples give
what docs/migration.md says, and the generated files say truly which of their rows are bad.
No database."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.intake import migration_files as files
from tests.intake import migration_oracle as oracle
from tests.intake.migration_files import HUBSPOT_HEADER, SALESFORCE_HEADER, Person

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 12, 9, 11, 0, tzinfo=BERLIN)  # a Wednesday
GO_LIVE = NOW + dt.timedelta(minutes=1)
DANA = Person("Dana", "Sales", "dana@smarketing.test")
RAVI = Person("Ravi", "Patel", "ravi@smarketing.test")
TOM = Person("Tom", "Becker", "tom@smarketing.test", is_active=False)  # left the company
SAM = Person("Sam", "Keller", "sam@smarketing.test", is_sales_rep=False)  # a sales manager
MIA = Person("Mia", "Wolff", "mia@smarketing.test", is_sales_rep=False)  # a marketer
PEOPLE = [DANA, RAVI, TOM, SAM, MIA]


def berlin(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def hubspot(*rows: dict, existing=()) -> list[oracle.Expected]:
    table = [[row.get(h, "") for h in HUBSPOT_HEADER] for row in rows]
    return oracle.expected_import(
        oracle.HUBSPOT, HUBSPOT_HEADER, table, people=PEOPLE, now=NOW, existing=existing
    )


def salesforce(*rows: dict) -> list[oracle.Expected]:
    table = [[row.get(h, "") for h in SALESFORCE_HEADER] for row in rows]
    return oracle.expected_import(oracle.SALESFORCE, SALESFORCE_HEADER, table, people=PEOPLE, now=NOW)


def path(result: oracle.Expected) -> list[tuple[str, str, str, dt.datetime | None]]:
    return [(s.type, s.from_stage, s.to_stage, s.at) for s in result.steps]


# --- HubSpot ---------------------------------------------------------------------------------------


def test_a_customer_with_only_create_and_customer_dates_was_qualified_and_accepted_when_won():
    [row] = hubspot(
        {
            "Email": "Ann@Acme.com",
            "Lifecycle Stage": "Customer",
            "Contact owner": "Dana Sales",
            "Create Date": "2026-09-01 09:15",
            "Became a Customer Date": "2026-10-20 16:40",
            "Original Source": "Paid Search",
            "Amount": "12500.5",
        }
    )
    won = berlin("2026-10-20 16:40")
    assert (row.outcome, row.email, row.stage, row.owner, row.source) == (
        "created",
        "ann@acme.com",
        "customer",
        "dana@smarketing.test",
        "paid_search",
    )
    assert path(row) == [
        ("created", "", "lead", berlin("2026-09-01 09:15")),
        ("qualified", "lead", "mql", won),
        ("accepted", "mql", "sql", won),
        ("won", "sql", "customer", won),
    ]
    assert (row.amount, row.closed_on) == (Decimal("12500.50"), dt.date(2026, 10, 20))


def test_an_mql_with_only_a_create_date_was_handed_off_when_created():
    [row] = hubspot(
        {
            "Email": "bo@acme.com",
            "Lifecycle Stage": "Marketing Qualified Lead",
            "Contact owner": "RAVI@smarketing.test",
            "Create Date": "2026-11-02 10:00",
        }
    )
    created = berlin("2026-11-02 10:00")
    assert path(row) == [("created", "", "lead", created), ("qualified", "lead", "mql", created)]
    assert (row.owner, row.source) == ("ravi@smarketing.test", "list_import")  # empty source


def test_a_row_without_dates_happens_at_go_live_and_a_lead_has_no_owner():
    [row] = hubspot({"Email": "cy@acme.com", "Lifecycle Stage": "Subscriber", "Contact owner": "Nobody Here"})
    assert (row.outcome, row.stage, row.owner) == ("created", "lead", None)
    assert path(row) == [("created", "", "lead", None)]


def test_create_date_else_became_a_lead_date_and_opportunity_else_no_sql_date():
    [row] = hubspot(
        {
            "Email": "di@acme.com",
            "Lifecycle Stage": "Opportunity",
            "Contact owner": "dana sales",
            "Became a Lead Date": "2026-10-01 08:00",
            "Became a Marketing Qualified Lead Date": "2026-10-02 08:00",
            "Became an Opportunity Date": "2026-10-05 08:00",
        }
    )
    assert [s.at for s in row.steps] == [
        berlin("2026-10-01 08:00"),
        berlin("2026-10-02 08:00"),
        berlin("2026-10-05 08:00"),
    ]
    assert row.stage == "sql"


def test_an_sql_without_an_sql_date_was_accepted_when_qualified():
    [row] = hubspot(
        {
            "Email": "ed@acme.com",
            "Lifecycle Stage": "Sales Qualified Lead",
            "Contact owner": "Dana Sales",
            "Create Date": "2026-10-01 08:00",
            "Became a Marketing Qualified Lead Date": "2026-10-03 08:00",
        }
    )
    assert [s.at for s in row.steps] == [berlin("2026-10-01 08:00"), *[berlin("2026-10-03 08:00")] * 2]


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ({"Became a Sales Qualified Lead Date": "2026-10-01 09:00"}, "dates_out_of_order"),
        ({"Became a Customer Date": "2026-12-24 10:00"}, "future_date"),
        ({"Became a Marketing Qualified Lead Date": "03/04/2026"}, "ambiguous_date"),
        ({"Create Date": "1969-12-31 10:00"}, "date_before_1970"),
        ({"Contact owner": "Jordan Miles"}, "unknown_owner"),
        ({"Amount": "-500"}, "negative_amount"),
        ({"Amount": ""}, "missing_amount"),
        ({"Lifecycle Stage": "Prospect"}, "unknown_stage"),
        ({"Email": "ann(at)acme.com"}, "invalid_email"),
        ({"Original Source": "Carrier pigeon"}, "unknown_source"),
    ],
)
def test_a_refused_row(cells, problem):
    good = {
        "Email": "fa@acme.com",
        "Lifecycle Stage": "Customer",
        "Contact owner": "Dana Sales",
        "Create Date": "2026-09-28 10:00",
        "Became a Marketing Qualified Lead Date": "2026-10-02 10:00",
        "Became a Sales Qualified Lead Date": "2026-10-06 10:00",
        "Became a Customer Date": "2026-11-06 10:00",
        "Amount": "9000",
    }
    assert hubspot(good)[0].outcome == "created"
    [row] = hubspot({**good, **cells})
    assert (row.outcome, row.problem) == ("failed", problem)


def test_an_open_mql_or_sql_needs_an_active_rep_a_closed_deal_keeps_whoever_owned_it():
    base = {"Email": "gu@acme.com", "Create Date": "2026-10-01 10:00", "Amount": "100"}
    for lifecycle in ("Marketing Qualified Lead", "Sales Qualified Lead"):
        for owner in ("Tom Becker", "Sam Keller"):
            [row] = hubspot({**base, "Lifecycle Stage": lifecycle, "Contact owner": owner})
            assert (row.outcome, row.problem) == ("failed", "inactive_owner")
    for owner, email in (
        ("Tom Becker", "tom@smarketing.test"),
        ("sam@SMARKETING.test", "sam@smarketing.test"),
    ):
        [row] = hubspot({**base, "Lifecycle Stage": "Customer", "Contact owner": owner})
        assert (row.outcome, row.owner) == ("created", email)


def test_unqualified_disqualifies_from_the_lifecycle_stage_on_the_last_date():
    [from_mql, from_lead] = hubspot(
        {
            "Email": "ha@acme.com",
            "Lifecycle Stage": "Marketing Qualified Lead",
            "Lead Status": "Unqualified",
            "Contact owner": "Tom Becker",  # closed: keeps whoever owned it
            "Create Date": "2026-10-01 10:00",
            "Became a Marketing Qualified Lead Date": "2026-10-04 12:00",
        },
        {
            "Email": "hb@acme.com",
            "Lifecycle Stage": "Lead",
            "Lead Status": "Unqualified",
            "Create Date": "2026-10-01 10:00",
        },
    )
    assert path(from_mql) == [
        ("created", "", "lead", berlin("2026-10-01 10:00")),
        ("qualified", "lead", "mql", berlin("2026-10-04 12:00")),
        ("disqualified", "mql", "disqualified", berlin("2026-10-04 12:00")),
    ]
    assert (from_mql.stage, from_mql.owner, from_mql.steps[-1].reason) == (
        "disqualified",
        "tom@smarketing.test",
        "spam",
    )
    assert path(from_lead) == [
        ("created", "", "lead", berlin("2026-10-01 10:00")),
        ("disqualified", "lead", "disqualified", berlin("2026-10-01 10:00")),
    ]
    assert from_lead.owner is None


@pytest.mark.parametrize(
    ("reason", "code", "stage", "owner", "recycled"),
    [
        ("Chose a competitor", "competitor", "lead", None, 1),
        ("no-decision", "no-decision", "lead", None, 1),
        ("Not a fit after discovery", "not-a-fit", "disqualified", "dana@smarketing.test", 0),
        ("Budget cut", "price", "lead", None, 1),  # matches none: the first loss reason
    ],
)
def test_an_sql_with_a_loss_reason_is_lost_where_the_reason_says(reason, code, stage, owner, recycled):
    [row] = hubspot(
        {
            "Email": "io@acme.com",
            "Lifecycle Stage": "Sales Qualified Lead",
            "Contact owner": "Dana Sales",
            "Create Date": "2026-10-01 10:00",
            "Became a Sales Qualified Lead Date": "2026-10-08 10:00",
            "Closed Lost Reason": reason,
        }
    )
    accepted = berlin("2026-10-08 10:00")
    assert path(row) == [
        ("created", "", "lead", berlin("2026-10-01 10:00")),
        ("qualified", "lead", "mql", accepted),
        ("accepted", "mql", "sql", accepted),
        ("lost", "sql", stage, accepted),  # no close date: the previous step's
    ]
    assert (row.stage, row.owner, row.recycle_count, row.steps[-1].reason) == (stage, owner, recycled, code)


def test_a_repeated_email_is_skipped_and_so_is_one_already_here():
    first = {"Email": "ju@acme.com", "Create Date": "2026-10-01 10:00"}
    rows = hubspot(
        first, {**first, "Email": "JU@ACME.COM"}, {"Email": "ka@acme.com"}, existing={"ka@acme.com"}
    )
    assert [(r.row, r.outcome, r.problem) for r in rows] == [
        (2, "created", ""),
        (3, "skipped", "duplicate_email"),
        (4, "skipped", "existing"),
    ]


# --- Salesforce ---------------------------------------------------------------------------------


def sf(**cells) -> dict:
    return {
        "Email": "la@acme.com",
        "Lead Owner": "Dana Sales",
        "Created Date": "2026-10-04T22:30:00.000+0000",
        **cells,
    }


def test_salesforce_converted_closed_won_is_a_customer_dated_by_its_day_fields():
    [row] = salesforce(
        sf(
            Converted="true",
            **{"Converted Date": "2026-10-07", "Stage": "Closed Won", "Close Date": "2026-10-20"},
            Amount="48000",
        )
    )
    assert path(row) == [
        ("created", "", "lead", dt.datetime(2026, 10, 4, 22, 30, tzinfo=dt.UTC)),
        ("qualified", "lead", "mql", berlin("2026-10-07 00:00")),
        ("accepted", "mql", "sql", berlin("2026-10-07 00:00")),
        ("won", "sql", "customer", berlin("2026-10-20 00:00")),
    ]
    assert (row.amount, row.closed_on) == (Decimal("48000.00"), dt.date(2026, 10, 20))


@pytest.mark.parametrize(
    ("cells", "stage", "types"),
    [
        ({"Converted": "1", "Stage": "Negotiation/Review", "Converted Date": "2026-10-07"}, "sql", 3),
        ({"Converted": "TRUE", "Converted Date": "2026-10-07"}, "sql", 3),
        ({"Converted": "false", "Lead Status": "Open - Not Contacted"}, "mql", 2),
        ({"Converted": "0", "Lead Status": "Working - Contacted"}, "sql", 3),
        (
            {"Converted": "false", "Lead Status": "Closed - Not Converted", "Lead Owner": ""},
            "disqualified",
            2,
        ),
        ({"Converted": "false", "Lead Status": "New", "Lead Owner": "Marketing Queue"}, "lead", 1),
        ({"Converted": "", "Lead Status": "", "Lead Owner": ""}, "lead", 1),
    ],
)
def test_salesforce_converted_and_status_say_the_stage(cells, stage, types):
    [row] = salesforce(sf(**cells))
    assert (row.outcome, row.stage, len(row.steps)) == ("created", stage, types)
    if cells["Converted"] in ("false", "0", ""):  # every step when it was created
        assert {s.at for s in row.steps} == {dt.datetime(2026, 10, 4, 22, 30, tzinfo=dt.UTC)}


def test_salesforce_lost_and_refusals():
    lost = sf(
        Converted="true",
        Stage="Closed Lost",
        **{
            "Converted Date": "2026-10-06",
            "Close Date": "2026-10-30",
            "Loss Reason": "Company closed or acquired",
        },
    )
    [row] = salesforce(lost)
    assert (row.stage, row.owner, row.steps[-1].at, row.steps[-1].reason) == (
        "disqualified",
        "dana@smarketing.test",
        berlin("2026-10-30 00:00"),
        "company-closed",
    )
    same_day = sf(
        Converted="true",
        Stage="Closed Won",
        Amount="1",
        **{"Converted Date": "2026-10-04", "Close Date": "2026-10-09"},
    )
    assert salesforce(same_day)[0].problem == "dates_out_of_order"  # 00:00 Berlin < 00:30 Berlin (reading 7)
    assert (
        salesforce(
            sf(
                Converted="false",
                **{"Lead Status": "Open - Not Contacted", "Lead Owner": "Inbound Leads Queue"},
            )
        )[0].problem
        == "unknown_owner"
    )
    assert salesforce(sf(Converted="maybe"))[0].problem == "unknown_converted"


# --- the figures -----------------------------------------------------------------------------------


def test_weeks_are_berlin_weeks_and_a_recycled_lead_enters_lead_again():
    rows = hubspot(
        {  # created Sunday night in Berlin: the week of 28 September
            "Email": "ma@acme.com",
            "Lifecycle Stage": "Sales Qualified Lead",
            "Contact owner": "Dana Sales",
            "Create Date": "2026-10-04 23:50",
            "Became a Sales Qualified Lead Date": "2026-10-06 10:00",
            "Close Date": "2026-10-14 10:00",
            "Closed Lost Reason": "Price",
            "Original Source": "Referrals",
        },
        {  # created and won in one week (5 October)
            "Email": "mb@acme.com",
            "Lifecycle Stage": "Customer",
            "Contact owner": "Ravi Patel",
            "Create Date": "2026-10-05 00:10",
            "Became a Customer Date": "2026-10-09 10:00",
            "Amount": "1000",
            "Original Source": "Referrals",
        },
        {"Email": "mc@acme.com"},  # no date: go-live
    )
    [sf_row] = salesforce(sf(Converted="false"))  # 22:30 UTC on Sunday 4 October = Monday 00:30 in Berlin
    mondays = oracle.last_mondays(NOW, count=12)
    weeks = oracle.weekly_figures([*rows, sf_row], mondays, go_live=GO_LIVE)
    sep28, oct5, oct12, dec7 = (
        dt.date(2026, 9, 28),
        dt.date(2026, 10, 5),
        dt.date(2026, 10, 12),
        dt.date(2026, 12, 7),
    )
    assert weeks[sep28].entered == {"lead": 1, "mql": 0, "sql": 0, "customer": 0, "disqualified": 0}
    assert weeks[oct5].entered == {"lead": 2, "mql": 2, "sql": 2, "customer": 1, "disqualified": 0}
    assert weeks[oct12].entered["lead"] == 1  # lost, recycled
    assert (weeks[oct12].lost, weeks[oct12].win_rate, weeks[oct5].win_rate) == (1, 0.0, 1.0)
    assert weeks[oct5].table_row()["acceptance_rate"] == 1.0 and weeks[oct5].revenue == Decimal("1000.00")
    assert weeks[dec7].entered["lead"] == 1
    whole = oracle.attribution_by_source(rows, mondays[0], mondays[-1], go_live=GO_LIVE)
    assert whole["partner"].__dict__ == {
        "leads": 2,
        "mqls": 2,
        "sqls": 2,
        "customers": 1,
        "revenue": Decimal("1000.00"),
    }
    assert whole["list_import"].leads == 1


# --- the files -------------------------------------------------------------------------------------

OWNERS = [DANA, RAVI, Person("Lena", "Fischer", "lena@smarketing.test"), TOM, SAM, MIA]


@pytest.mark.parametrize(
    ("generate", "system", "kinds"),
    [
        (files.hubspot_contacts, oracle.HUBSPOT, files.HUBSPOT_KINDS),
        (files.salesforce_leads, oracle.SALESFORCE, files.SALESFORCE_KINDS),
    ],
)
def test_the_files_say_truly_which_rows_are_bad(generate, system, kinds):
    export = generate(1500, seed=27, now=NOW, owners=OWNERS)
    assert export == generate(1500, seed=27, now=NOW, owners=OWNERS)  # deterministic
    assert export.rows != generate(1500, seed=28, now=NOW, owners=OWNERS).rows
    assert {b.kind for b in export.bad.values()} == set(kinds)
    assert 0.02 <= len(export.bad) / 1500 <= 0.03
    expected = oracle.expected_import(system, export.header, export.rows, people=OWNERS, now=NOW)
    assert {r.row: r.problem for r in expected if r.outcome != "created"} == {
        b.row: b.kind for b in export.bad.values()
    }
    made = oracle.created(expected)
    ends = {(r.stage, "lost" in {s.type for s in r.steps}) for r in made}
    assert ends >= {(s, False) for s in ("lead", "mql", "sql", "customer", "disqualified")} | {
        ("lead", True),
        ("disqualified", True),
    }
    assert any(r.created_at is None for r in made), "no row without dates"
    assert {r.owner for r in made if r.stage in ("customer", "disqualified")} >= {"tom@smarketing.test"}
    dated = [s.at for r in made for s in r.steps if s.at is not None]
    assert NOW - dt.timedelta(weeks=17) < min(dated) and max(dated) < NOW
    assert len({oracle.monday_of(d, BERLIN) for d in dated}) >= 16
    # What a spreadsheet would read back.
    text = files.csv_bytes(export.header, export.rows).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [export.header, *export.rows]


def test_the_xlsx_holds_the_same_values():
    openpyxl = pytest.importorskip("openpyxl")
    export = files.hubspot_contacts(60, seed=3, now=NOW, owners=OWNERS)
    sheet = openpyxl.load_workbook(io.BytesIO(files.xlsx_bytes(export.header, export.rows))).active
    read = list(sheet.iter_rows(values_only=True))
    assert list(read[0]) == export.header

    def same(value, text: str) -> bool:
        if isinstance(value, dt.datetime):  # a date cell: the wall-clock time written
            return value.strftime("%Y-%m-%d %H:%M") == text
        if isinstance(value, int | float):
            return Decimal(str(value)) == Decimal(text)
        return (value or "") == text

    for cells, row in zip(read[1:], export.rows, strict=True):
        assert all(same(value, text) for value, text in zip(cells, row, strict=True)), row
    assert any(isinstance(v, dt.datetime) for cells in read[1:] for v in cells)


def test_the_source_table_is_the_everyday_imports():
    from smarketing.intake.values import parse_source

    assert {value: parse_source(value) for value in oracle.SOURCES} == oracle.SOURCES
    assert parse_source("") == oracle.EMPTY_SOURCE
