"""The migration import: a HubSpot contacts export, a Salesforce leads report or a
Smarketing lead export, each row turned into the path its lead took (docs/migration.md is
the rulebook; this module follows it section by section).

- which column is which field (`guess_mapping`, `detect_system`), and the value maps —
  stage, status, deal stage, owner, source, loss reason — with their documented defaults
  and the manager's changes (`ImportJob.value_maps`);
- one row: its profile and its consent answer parsed as in the everyday import
  (`plans.parse_row`), then its stage, dates, owner and reasons made into a
  `leads.services.History` and checked against the transition table
  (`MigrationContext.parse_row`);
- a chunk: an email already in Smarketing is skipped — a migration never rewrites a lead.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from leads import services
from leads.models import Stage
from sla import services as sla_services
from smarketing.agreement.models import Reason, ReasonKind
from smarketing.core.errors import ActionError
from smarketing.intake import exported, files, reading
from smarketing.intake import values as intake_values
from smarketing.intake.models import ImportJob, MigrationSystem
from smarketing.intake.plans import Context, RowPlan, file_format, parse_row, plan_chunk
from smarketing.intake.values import label_key
from smarketing.org import roles

# --- columns -----------------------------------------------------------------------------------

# The fields a migration reads besides the profile ones of the everyday import.
HISTORY_FIELDS: dict[str, str] = {
    "lifecycle_stage": "Lifecycle stage",
    "lead_status": "Lead status",
    "owner": "Owner (the rep)",
    "lead_at": "Became a lead at",
    "mql_at": "Became an MQL at",
    "sql_at": "Became an SQL at",
    "opportunity_at": "Became an opportunity at",
    "customer_at": "Became a customer at",
    "converted": "Converted (Salesforce)",
    "deal_stage": "Deal / opportunity stage",
    "deal_amount": "Deal amount",
    "close_date": "Close date",
    "loss_reason": "Loss reason",
    "source_detail": "Source detail (drill-down)",
    "history": "History (a Smarketing export)",
    "referrer": "Referrer (email)",
}
FIELDS: dict[str, str] = {
    **{k: v for k, v in intake_values.FIELDS.items() if k != "stage"},
    **HISTORY_FIELDS,
}
_HEADERS: dict[str, tuple[str, ...]] = {
    "lifecycle_stage": ("lifecycle stage", "lifecyclestage"),
    "lead_status": ("lead status", "status", "hs lead status"),
    "owner": ("contact owner", "lead owner", "owner", "hubspot owner", "owner name", "owner email"),
    "lead_at": ("became a lead date",),
    "mql_at": ("became a marketing qualified lead date", "became an mql at", "mql date"),
    "sql_at": ("became a sales qualified lead date", "converted date", "became an sql at", "sql date"),
    "opportunity_at": ("became an opportunity date",),
    "customer_at": ("became a customer date", "became a customer at"),
    "converted": ("converted", "is converted"),
    "deal_stage": ("stage", "opportunity stage", "deal stage"),
    "deal_amount": ("amount", "deal amount", "recent deal amount", "opportunity amount"),
    "close_date": ("close date", "recent deal close date", "closed on"),
    "loss_reason": ("closed lost reason", "loss reason", "lost reason"),
    "source_detail": ("original source drill-down 1", "original source drill down 1"),
    "company": ("associated company",),
    "history": ("history",),
    "referrer": ("referrer email", "referrer"),
}
_HEADER_LOOKUP = {label_key(alias): field for field, aliases in _HEADERS.items() for alias in aliases}


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """`{header: field}` for the headers recognised: the history columns first, then the
    everyday import's (without its stage); each field to the first header naming it."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    everyday = intake_values.guess_mapping
    for header in headers:
        field = _HEADER_LOOKUP.get(label_key(header)) or everyday([header]).get(header)
        if field and field in FIELDS and field not in taken:
            mapping[header] = field
            taken.add(field)
    if "history" in taken:
        # A Smarketing export: its History says every step and when, so the columns that
        # summarise the path are not read; reps are named by email.
        mapping = {header: field for header, field in mapping.items() if field not in _SUMMARY_FIELDS}
        by_email = next((h for h in headers if label_key(h) == label_key("owner email")), None)
        if by_email is not None:
            mapping = {header: field for header, field in mapping.items() if field != "owner"}
            mapping[by_email] = "owner"
    return mapping


# What a Smarketing export's History says more exactly than its summary columns.
_SUMMARY_FIELDS = {
    "lifecycle_stage",
    "lead_status",
    "deal_stage",
    "lead_at",
    "mql_at",
    "sql_at",
    "opportunity_at",
    "customer_at",
    "converted",
    "deal_amount",
    "close_date",
    "loss_reason",
}


def detect_system(headers: list[str]) -> str:
    """Smarketing when its export's History column is there; Salesforce when its own
    columns are (Lead Owner, Converted, Lead ID); else HubSpot."""
    keys = {label_key(h) for h in headers}
    if label_key("history") in keys:
        return MigrationSystem.SMARKETING
    salesforce = {label_key(h) for h in ("lead owner", "converted", "converted date", "lead id")}
    return MigrationSystem.SALESFORCE if keys & salesforce else MigrationSystem.HUBSPOT


# --- value maps --------------------------------------------------------------------------------

# What each row can end in: a stage, or "lost" (which ends where its loss reason says).
LOST = "lost"
OUTCOMES = (Stage.LEAD, Stage.MQL, Stage.SQL, Stage.CUSTOMER, LOST, Stage.DISQUALIFIED)
NO_CHANGE = ""  # a lead status that changes nothing (HubSpot's open statuses)
WON, OPEN = "won", "open"

LIFECYCLE_DEFAULTS = {
    label_key(value): stage
    for values, stage in (
        (("subscriber", "lead", "other"), Stage.LEAD),
        (("marketingqualifiedlead", "Marketing Qualified Lead", "mql"), Stage.MQL),
        (("salesqualifiedlead", "Sales Qualified Lead", "sql", "opportunity"), Stage.SQL),
        (("customer", "evangelist"), Stage.CUSTOMER),
    )
    for value in values
}
HUBSPOT_STATUS_DEFAULTS = {
    label_key(value): outcome
    for values, outcome in (
        (("unqualified",), Stage.DISQUALIFIED),
        (
            (
                "new",
                "open",
                "in progress",
                "attempted to contact",
                "connected",
                "bad timing",
                "open deal",
            ),
            NO_CHANGE,
        ),
    )
    for value in values
}
SALESFORCE_STATUS_DEFAULTS = {
    label_key(value): outcome
    for values, outcome in (
        (("Open - Not Contacted",), Stage.MQL),
        (("Working - Contacted", "Closed - Converted"), Stage.SQL),
        (("Closed - Not Converted",), Stage.DISQUALIFIED),
        (("new", "open"), Stage.LEAD),
    )
    for value in values
}
DEAL_STAGE_DEFAULTS = {label_key("Closed Won"): WON, label_key("Closed Lost"): LOST}  # anything else: open
TRUE_WORDS = {"true", "1", "yes", "y", "x"}
FALSE_WORDS = {"false", "0", "no", "n", ""}

# The value maps a manager can change, by the field whose values they map.
VALUE_KINDS = {
    "stage": "lifecycle_stage",
    "status": "lead_status",
    "deal_stage": "deal_stage",
    "owner": "owner",
    "source": "source",
    "loss_reason": "loss_reason",
}
PREVIEW_VALUE_ROWS = 20000  # rows read to list the values found on the mapping page
PREVIEW_VALUES = 200  # distinct values listed per column at most


def _user_label(user) -> str:
    return user.get_full_name() or user.get_username()


class MigrationContext(Context):
    """The everyday import's context plus what a migration looks up once: users by email
    and by name, the agreed loss and disqualification reasons, and the manager's maps."""

    def __init__(self, job: ImportJob):
        super().__init__(job)
        self.system = job.system or MigrationSystem.HUBSPOT
        self.maps = {kind: dict(job.value_maps.get(kind) or {}) for kind in VALUE_KINDS}
        self.go_live = job.started_at or timezone.now()
        users = list(get_user_model().objects.select_related("membership").prefetch_related("groups"))
        self.users = {user.pk: user for user in users}
        names = Counter(label_key(_user_label(user)) for user in users)
        self.user_by_key: dict[str, Any] = {}
        for user in users:
            if user.email:
                self.user_by_key.setdefault(label_key(user.email), user)
            name = label_key(_user_label(user))
            if name and names[name] == 1:
                self.user_by_key.setdefault(name, user)
        self.ambiguous_names = {name for name, count in names.items() if count > 1}
        self.active_reps = {user.pk for user in users if roles.is_active_sales_rep(user)}
        self.fallback_owner = job.fallback_owner
        # Each user's business calendar (speed to lead of a migrated response), read here:
        # rows are parsed on the import's reader thread, which reads no database.
        self.calendars = sla_services.calendars_of_users(users)
        reasons = list(Reason.objects.active())
        self.loss_reasons = [r for r in reasons if r.kind == ReasonKind.LOSS]
        self.loss_by_key = {}
        for reason in self.loss_reasons:
            self.loss_by_key.setdefault(label_key(reason.label), reason)
            self.loss_by_key.setdefault(label_key(reason.code), reason)
        self.reasons = {r.pk: r for r in Reason.objects.all()}
        # A Smarketing export names reasons by code (or label), within the transition's kind.
        self.reason_by_key: dict[tuple[str, str], Reason] = {}
        for reason in sorted(self.reasons.values(), key=lambda r: not r.is_active):
            self.reason_by_key.setdefault((reason.kind, label_key(reason.code)), reason)
            self.reason_by_key.setdefault((reason.kind, label_key(reason.label)), reason)
        disqualification = [r for r in reasons if r.kind == ReasonKind.DISQUALIFICATION]
        self.disqualification_reason = job.disqualification_reason or (
            disqualification[0] if disqualification else None
        )
        sources = self.maps["source"]
        self.source = lambda raw: sources.get(raw.strip()) or intake_values.parse_source(raw)

    # --- the maps: the manager's value first, then the documented default ---

    def mapped(self, kind: str, raw: str, default: Any) -> Any:
        value = raw.strip()
        return self.maps[kind].get(value, default)

    def lifecycle(self, raw: str) -> str | None:
        if not raw.strip():
            return None
        stage = self.mapped("stage", raw, LIFECYCLE_DEFAULTS.get(label_key(raw), "?"))
        if stage not in OUTCOMES:
            raise ValueError(f"Unknown lifecycle stage “{raw}”: map it to a stage on the mapping page.")
        return stage

    def status(self, raw: str) -> str:
        defaults = (
            SALESFORCE_STATUS_DEFAULTS
            if self.system == MigrationSystem.SALESFORCE
            else HUBSPOT_STATUS_DEFAULTS
        )
        if not raw.strip():
            return NO_CHANGE
        outcome = self.mapped("status", raw, defaults.get(label_key(raw), "?"))
        if outcome != NO_CHANGE and outcome not in OUTCOMES:
            raise ValueError(f"Unknown lead status “{raw}”: map it on the mapping page.")
        return outcome

    def deal_stage(self, raw: str) -> str:
        outcome = self.mapped("deal_stage", raw, DEAL_STAGE_DEFAULTS.get(label_key(raw), OPEN))
        return outcome if outcome in (WON, LOST) else OPEN

    def loss_reason(self, raw: str) -> Reason | None:
        chosen = self.maps["loss_reason"].get(raw.strip())
        if chosen is not None:
            return self.reasons.get(int(chosen))
        found = self.loss_by_key.get(label_key(raw)) if raw.strip() else None
        return found or (self.loss_reasons[0] if self.loss_reasons else None)

    def owner_match(self, value: str):
        """The user an owner value names: the manager's map, else the email or the full
        name (one user only); None when nobody."""
        if value in self.maps["owner"]:
            chosen = self.maps["owner"][value]
            return self.users.get(int(chosen)) if chosen not in (None, "") else None
        return self.user_by_key.get(label_key(value)) if value else None

    def owner(self, raw: str, *, open_deal: bool):
        """The rep a row names (by the manager's map, else by email or full name), or the
        fallback owner; ValueError when neither will do (docs/migration.md, "Owners")."""
        value = raw.strip()
        user = self.owner_match(value)
        if user is not None and (not open_deal or user.pk in self.active_reps):
            return user
        if self.fallback_owner is not None:
            return self.fallback_owner
        if user is not None:
            raise ValueError(
                f"Owner “{value}” is not an active sales rep, and an open MQL or SQL needs one: "
                "map the value to a rep, or pick a fallback owner."
            )
        if not value:
            raise ValueError("No owner: a lead handed to sales needs its rep (or pick a fallback owner).")
        if label_key(value) in self.ambiguous_names:
            raise ValueError(
                f"Owner “{value}” matches more than one user: map it to one, or pick a fallback owner."
            )
        raise ValueError(f"Owner “{value}” matches no user here: map it to a user, or pick a fallback owner.")

    def response_measured(self, steps: list[services.Step], owner, *, dated: bool) -> list[dict[str, Any]]:
        """Speed to lead of a migrated response: when the file dates both the hand-off and
        the answer (`dated`: a filled-in date would measure nothing), the business time
        between them in the rep's calendar, as a measured-only clock (docs/migration.md,
        "Speed to lead and SLA figures of the migrated weeks")."""
        handed = next((step for step in steps if step.transition == "qualify"), None)
        answered = next((step for step in steps if step.transition == "accept"), None)
        if not dated or owner is None or handed is None or answered is None:
            return []
        return [
            sla_services.response_measured(
                owner=owner, handed_off_at=handed.at, responded_at=answered.at, calendars=self.calendars
            )
        ]

    # --- a row and a chunk ---

    def parse_row(self, row_number: int, cells: dict[str, str]) -> RowPlan:
        plan = parse_row(row_number, cells, self)
        if plan.outcome == "fail":
            return plan
        values = {target: cells.get(header, "") or "" for header, target in self.columns}
        try:
            plan.history = self.history(row_number, values)
            services.history_check(plan.history)
        except ValueError as exc:
            plan.outcome, plan.message = "fail", str(exc)
        except ActionError as exc:
            plan.outcome, plan.message = "fail", exc.message
        else:
            if values.get("source_detail"):
                plan.origin["source_detail"] = values["source_detail"][:200]
            plan.origin.pop("original_created_at", None)  # the created event is back-dated instead
        return plan

    def plan_chunk(self, rows: list[tuple[int, dict[str, str]]]) -> list[RowPlan]:
        """As the everyday import, except that a lead already here is never changed."""
        plans = plan_chunk(rows, self)
        for plan in plans:
            if plan.outcome in ("update", "skip") and plan.lead_id:
                plan.outcome = "skip"
                plan.fill, plan.consent = {}, {}
                plan.message = f"Already in Smarketing as lead {plan.lead_id}: a migration does not change leads that are here."
        return plans

    def outcome(self, values: dict[str, str]) -> str:
        """Where the row ends: docs/migration.md, "The stage each row ends in"."""
        status = self.status(values.get("lead_status", ""))
        deal = self.deal_stage(values.get("deal_stage", ""))
        if self.system == MigrationSystem.SALESFORCE and "converted" in values:
            converted = values.get("converted", "").strip().casefold()
            if converted not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError(f"Converted “{values['converted']}” is neither true nor false.")
            if converted in TRUE_WORDS:
                return {WON: Stage.CUSTOMER, LOST: LOST}.get(deal, Stage.SQL)
            return status if status != NO_CHANGE else Stage.LEAD
        stage = self.lifecycle(values.get("lifecycle_stage", ""))
        if stage is None:
            stage = status if status not in (NO_CHANGE, Stage.DISQUALIFIED) else Stage.LEAD
        if status == Stage.DISQUALIFIED:
            return Stage.DISQUALIFIED
        if stage == Stage.SQL and (deal == LOST or values.get("loss_reason", "").strip()):
            return LOST
        if stage == Stage.SQL and deal == WON:
            return Stage.CUSTOMER
        return stage

    def history(self, row_number: int, values: dict[str, str]) -> services.History:
        if self.system == MigrationSystem.SMARKETING:
            return exported.exported_history(self, row_number, values)
        outcome = self.outcome(values)
        # The close date counts only for a deal that closed: an open opportunity's is the
        # date it is expected to close, often in the future (docs/migration.md, "Dates").
        used = _DATE_FIELDS if outcome in (Stage.CUSTOMER, LOST) else _DATE_FIELDS[:-1]
        date = {name: intake_values.parse_datetime(values.get(name, ""), self.tz) for name in used}
        date.setdefault("close_date", None)
        created = date["created_at"] or date["lead_at"]
        mql, sql = date["mql_at"], date["sql_at"] or date["opportunity_at"]
        if outcome == Stage.DISQUALIFIED:
            reached = (
                self.lifecycle(values.get("lifecycle_stage", ""))
                if self.system == MigrationSystem.HUBSPOT
                else None
            )
            # From where the lifecycle stage or the dates show it got to (a customer cannot
            # be disqualified: the transition table refuses the row).
            won = reached == Stage.CUSTOMER
            reached_sql = won or sql is not None or reached == Stage.SQL
            reached_mql = reached_sql or mql is not None or reached == Stage.MQL
            path = ["qualify"] * reached_mql + ["accept"] * reached_sql + ["win"] * won + ["disqualify"]
            last = max((d for d in date.values() if d is not None), default=None)
            dates = [created, *[mql] * reached_mql, *[sql] * reached_sql, *[last] * won, last]
        else:
            path = _PATHS[outcome]
            closing_date = (
                date["customer_at"] or date["close_date"] if outcome == Stage.CUSTOMER else date["close_date"]
            )
            dates = [created, mql, sql, closing_date][: len(path) + 1]
        dates = _same_day_in_order(_fill_dates(dates, self.go_live), self.tz)
        amount = _amount(values.get("deal_amount", ""))
        handed = "qualify" in path
        owner = (
            self.owner(values.get("owner", ""), open_deal=outcome in (Stage.MQL, Stage.SQL))
            if handed
            else None
        )
        steps = []
        for transition, at in zip(path, dates[1:], strict=True):
            to, reason = _TARGET.get(transition), None
            if transition == "lose":
                reason = self.loss_reason(values.get("loss_reason", ""))
                if reason is None:
                    raise ValueError("There is no active loss reason to record this lost deal with.")
                to = Stage.LEAD if reason.loss_outcome == "recycle" else Stage.DISQUALIFIED
            elif transition == "disqualify":
                reason = self.disqualification_reason
                if reason is None:
                    raise ValueError("There is no active disqualification reason to record this with.")
            steps.append(services.Step(transition, at, to, reason.pk if reason else None))
        won_at = next((step.at for step in steps if step.transition == "win"), None)
        return services.History(
            clocks=self.response_measured(steps, owner, dated=mql is not None and sql is not None),
            created_at=dates[0],
            steps=steps,
            owner_id=owner.pk if owner else None,
            deal_amount=(amount if amount is not None else Decimal("0")) if won_at else None,
            closed_on=timezone.localtime(won_at, self.tz).date() if won_at else None,
            migrated={"system": self.system, "import_job": self.job.pk, "row": row_number},
        )


_DATE_FIELDS = ("created_at", "lead_at", "mql_at", "sql_at", "opportunity_at", "customer_at", "close_date")
_PATHS = {
    Stage.LEAD: [],
    Stage.MQL: ["qualify"],
    Stage.SQL: ["qualify", "accept"],
    Stage.CUSTOMER: ["qualify", "accept", "win"],
    LOST: ["qualify", "accept", "lose"],
}
_TARGET = {
    "qualify": Stage.MQL,
    "accept": Stage.SQL,
    "win": Stage.CUSTOMER,
    "disqualify": Stage.DISQUALIFIED,
}


def _fill_dates(dates: list[dt.datetime | None], go_live: dt.datetime) -> list[dt.datetime]:
    """A missing step takes the next known date along the path, else the previous one; a
    row with no date at all happened at go-live (docs/migration.md, "Dates")."""
    if all(d is None for d in dates):
        return [go_live] * len(dates)
    filled: list[dt.datetime | None] = list(dates)
    following = None
    for i in range(len(filled) - 1, -1, -1):
        if filled[i] is None:
            filled[i] = following
        following = filled[i]
    previous = None
    for i, value in enumerate(filled):
        if value is None:
            filled[i] = previous
        previous = filled[i]
    return filled  # type: ignore[return-value]


def _same_day_in_order(dates: list[dt.datetime], tz) -> list[dt.datetime]:
    """A step dated by its day alone (midnight: Salesforce's Converted Date, a Close Date)
    on the day of the step before it happened after it that day, not before: it takes the
    time of the step before (docs/migration.md, "Dates")."""
    ordered = list(dates)
    for i in range(1, len(ordered)):
        day = timezone.localtime(ordered[i], tz)
        if (
            ordered[i] < ordered[i - 1]
            and (day.hour, day.minute, day.second, day.microsecond) == (0, 0, 0, 0)
            and day.date() == timezone.localtime(ordered[i - 1], tz).date()
        ):
            ordered[i] = ordered[i - 1]
    return ordered


def _amount(raw: str) -> Decimal | None:
    """A deal amount: digits with an optional decimal point; currency signs, spaces and
    thousands commas are ignored ("€12,500.50" is 12500.50). Negative refused."""
    text = "".join(ch for ch in raw if ch.isdigit() or ch in ".-")
    if not raw.strip():
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"Deal amount “{raw}” is not an amount.") from None
    if amount < 0:
        raise ValueError(f"Deal amount “{raw}” is negative.")
    if amount >= Decimal("1e12"):
        raise ValueError(f"Deal amount “{raw}” is too large.")
    return amount.quantize(Decimal("0.01"))


def context_for(job: ImportJob) -> Context:
    """The context a run or a preview of `job` works with."""
    return MigrationContext(job) if job.kind == "migration" else Context(job)


# --- what the mapping page shows ---------------------------------------------------------------


@dataclass
class FoundValue:
    value: str
    rows: int
    maps_to: Any  # a stage / outcome, a user id, a source code, a reason id; None: nothing
    label: str  # what it maps to, in words
    changed: bool  # the manager changed it


def values_found(job: ImportJob, *, rows: int = PREVIEW_VALUE_ROWS) -> dict[str, list[FoundValue]]:
    """The distinct values of the columns with a value map, in the first `rows` rows, each
    with what it becomes: {kind: [FoundValue]}. Values further down the file follow the
    same defaults (and the manager's changes, by value)."""
    ctx = MigrationContext(job)
    headers = {target: header for header, target in ctx.columns}
    counts: dict[str, Counter] = {kind: Counter() for kind in VALUE_KINDS if VALUE_KINDS[kind] in headers}
    try:
        with closing(reading.iter_rows(files.file_open(job), file_format(job))) as stream:
            for n, (_, cells) in enumerate(stream):
                if n >= rows:
                    break
                for kind in counts:
                    value = (cells.get(headers[VALUE_KINDS[kind]]) or "").strip()
                    if value and (value in counts[kind] or len(counts[kind]) < PREVIEW_VALUES):
                        counts[kind][value] += 1
    except (reading.ImportFileError, FileNotFoundError):
        return {}
    return {
        kind: [_found(ctx, kind, value, n) for value, n in counter.most_common()]
        for kind, counter in counts.items()
    }


def _found(ctx: MigrationContext, kind: str, value: str, rows: int) -> FoundValue:
    changed = value in ctx.maps[kind]
    try:
        if kind == "stage":
            maps_to = ctx.lifecycle(value)
            label = _outcome_label(maps_to)
        elif kind == "status":
            maps_to = ctx.status(value)
            label = _outcome_label(maps_to) if maps_to else "no change"
        elif kind == "deal_stage":
            maps_to = ctx.deal_stage(value)
            label = {WON: "won", LOST: "lost", OPEN: "still open (SQL)"}[maps_to]
        elif kind == "owner":
            user = ctx.owner_match(value)
            if user is not None:
                maps_to, label = user.pk, _user_label(user)
            elif ctx.fallback_owner is not None:
                maps_to, label = None, f"nobody here: the fallback owner, {_user_label(ctx.fallback_owner)}"
            elif label_key(value) in ctx.ambiguous_names:
                maps_to, label = None, "more than one user has this name: pick one, or these rows are refused"
            else:
                maps_to, label = (
                    None,
                    "nobody here: pick a user or a fallback owner, or these rows are refused",
                )
        elif kind == "source":
            maps_to = ctx.maps["source"].get(value) or intake_values.parse_source(value)
            label = intake_values.SOURCE_LABELS[maps_to]
        else:
            reason = ctx.loss_reason(value)
            maps_to, label = (reason.pk, reason.label) if reason else (None, "no loss reason")
    except ValueError as exc:
        maps_to, label = None, str(exc)
    return FoundValue(value=value, rows=rows, maps_to=maps_to, label=label, changed=changed)


def default_target(ctx: MigrationContext, kind: str, value: str):
    """What `value` maps to in `ctx` (a context without the manager's maps: the default)."""
    return _found(ctx, kind, value, 0).maps_to


def _outcome_label(outcome: str | None) -> str:
    return "lost" if outcome == LOST else Stage(outcome).label if outcome else ""


def check_value_maps(value_maps: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The manager's value maps, each value checked: a stage or outcome, a user, a source,
    an agreed loss reason. Raises ActionError naming every bad entry."""
    errors: list[str] = []
    cleaned: dict[str, dict[str, Any]] = {}
    users = set(get_user_model().objects.values_list("pk", flat=True))
    loss = set(Reason.objects.active().of_kind(ReasonKind.LOSS).values_list("pk", flat=True))
    allowed = {
        "stage": set(OUTCOMES),
        "status": {*OUTCOMES, NO_CHANGE},
        "deal_stage": {WON, LOST, OPEN},
        "source": set(intake_values.SOURCE_LABELS),
    }
    if not isinstance(value_maps, dict):
        raise ActionError(
            "The value maps must be an object of {kind: {value: what it becomes}}.", field="value_maps"
        )
    for kind, entries in value_maps.items():
        if kind not in VALUE_KINDS:
            errors.append(f"“{kind}” is not a value map (use {', '.join(VALUE_KINDS)}).")
            continue
        if not isinstance(entries, dict):
            errors.append(f"The {kind} map must be an object of {{value: what it becomes}}.")
            continue
        cleaned[kind] = {}
        for raw, target in entries.items():
            value = str(raw).strip()[:200]
            whole = isinstance(target, int) and not isinstance(target, bool)
            if kind in allowed:
                ok = isinstance(target, str) and target in allowed[kind]
            elif kind == "owner":
                ok = target is None or (whole and target in users)
            else:
                ok = whole and target in loss
            if not ok:
                errors.append(f"{kind} “{value}”: “{str(target)[:100]}” is not something it can map to.")
            else:
                cleaned[kind][value] = target
    if errors:
        raise ActionError(" ".join(errors), field="value_maps")
    return cleaned
