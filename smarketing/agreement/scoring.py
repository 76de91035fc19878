"""Lead scoring: the agreed definition of a warm lead, applied to every lead.

A score is the sum of the lines of its *receipt*: each active fit rule the lead's profile
matches, and each engagement priced by the rule for its type (halved every
`decay_half_life_days` when decay is on). The receipt is stored with the score, so every
lead shows which rule gave which points, and `scored_version` says under which version
of the definition. Changing the definition bumps the version and a background job
re-scores every lead still on an older one, in bounded batches.

Writes here belong to the service layer: managers edit the definition through
`scoring_definition_update` / `scoring_rule_save` / `scoring_rule_delete`, each audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import repeat
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import F, Model
from django.forms.models import model_to_dict
from django.utils import timezone

from smarketing.agreement import hooks
from smarketing.agreement.changes import agreement_change_record, require_manager
from smarketing.agreement.models import (
    FitField,
    FitOperator,
    RuleKind,
    ScoringDefinition,
    ScoringRule,
)
from smarketing.core import rows
from smarketing.core.errors import ActionError

log = logging.getLogger(__name__)
RULE_FIELDS = (
    "kind",
    "label",
    "field",
    "operator",
    "value",
    "engagement_type",
    "points",
    "is_active",
    "position",
)


# How many distinct values per rule, and sets of matched rules, a scorer remembers.
REMEMBERED = 5000


@dataclass(frozen=True)
class Scorer:
    """The definition at one version, loaded once and applied to many leads.

    A lead without engagements (every new lead) scores by the fit rules it matches alone,
    and whether a rule matches depends only on the one value the rule reads. So the scorer
    remembers, per rule, its answer for each distinct value (a file of new leads repeats
    its titles, company sizes, countries and email domains) and, per set of matched rules,
    the score and receipt, which the leads that match the same rules share. Receipts are
    values: nothing changes one in place. Bounded, so memory stays flat; a test holds the
    remembered answers to the rules' own."""

    definition: ScoringDefinition
    fit_rules: tuple[ScoringRule, ...]
    engagement_rules: dict[str, ScoringRule]
    _matched: tuple[dict[Any, bool], ...] = field(default=(), compare=False, repr=False)
    _scored: dict[tuple[bool, ...], tuple[int, list[dict[str, Any]]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_matched", tuple({} for _ in self.fit_rules))

    @classmethod
    def load(cls) -> Scorer:
        """The definition in force with its active rules, read in one query whose SQL is
        written once (each API create and each import chunk loads it). The scorer made
        from the last read is given again while a read returns exactly the same rows
        (every column of the definition and of each active rule): a change made anywhere,
        with or without a version bump, is applied by the next load in every process."""
        connection = connections[router.db_for_read(ScoringDefinition)]
        found = _definition_rows(connection)
        if not found:
            ScoringDefinition.current()  # the first read makes it, with its defaults
            found = _definition_rows(connection)
        kept = _kept.get(connection.alias)
        if kept is not None and kept[0] == found:
            return kept[1]
        scorer = cls._from_rows(found, connection)
        _kept[connection.alias] = (found, scorer)  # replaced whole: safe to read from threads
        return scorer

    @classmethod
    def _from_rows(cls, found: list[tuple], connection) -> Scorer:
        reader, split = _DEFINITION_SQL[connection.vendor][1], len(ScoringDefinition._meta.concrete_fields)
        using = connection.alias
        definition: ScoringDefinition | None = None
        rules: list[ScoringRule] = []
        for row in found:
            values = reader(row, connection)
            if definition is None:
                definition = rows.make(ScoringDefinition, values[:split], using)
            if values[split] is not None:  # the rule's id: None when no rule is active
                rules.append(rows.make(ScoringRule, values[split:], using))
        assert definition is not None
        engagement_rules: dict[str, ScoringRule] = {}
        for rule in rules:
            if rule.kind == RuleKind.ENGAGEMENT:
                engagement_rules.setdefault(rule.engagement_type, rule)
        return cls(
            definition=definition,
            fit_rules=tuple(r for r in rules if r.kind == RuleKind.FIT),
            engagement_rules=engagement_rules,
        )

    @property
    def version(self) -> int:
        return self.definition.version

    def engagement_points(self, engagement_type: str) -> int:
        rule = self.engagement_rules.get(engagement_type)
        return rule.points if rule else 0

    def score(
        self, lead: Model, engagements: Iterable[Model], *, now: dt.datetime | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """(score, receipt) for `lead` and its engagements."""
        engagements = list(engagements)
        if engagements:
            return self._score(lead, engagements, now)
        try:
            key = tuple(map(self._matches, self.fit_rules, self._matched, repeat(lead)))
        except TypeError:  # a value that cannot be remembered by
            return self._score(lead, engagements, now)
        hit = self._scored.get(key)
        if hit is None:
            if len(self._scored) >= REMEMBERED:
                self._scored.clear()
            hit = self._scored[key] = self._score(lead, engagements, now)
        return hit

    @staticmethod
    def _matches(rule: ScoringRule, seen: dict[Any, bool], lead: Model) -> bool:
        value = field_value(lead, rule.field)
        hit = seen.get(value)
        if hit is None:
            if len(seen) >= REMEMBERED:
                seen.clear()
            hit = seen[value] = fit_matches(rule, lead)
        return hit

    def _score(
        self, lead: Model, engagements: list[Model], now: dt.datetime | None
    ) -> tuple[int, list[dict[str, Any]]]:
        """(score, receipt), worked out from the rules (`score` remembers what it can)."""
        now = now or timezone.now()
        receipt: list[dict[str, Any]] = []
        for rule in self.fit_rules:
            if fit_matches(rule, lead):
                receipt.append(
                    {"rule": rule.pk, "kind": RuleKind.FIT, "label": rule.label, "points": rule.points}
                )
        half_life = self.definition.decay_half_life_days
        for engagement in engagements:
            rule = self.engagement_rules.get(engagement.type)
            if rule is None:
                continue
            points = rule.points
            line: dict[str, Any] = {
                "rule": rule.pk,
                "kind": RuleKind.ENGAGEMENT,
                "label": rule.label,
                "engagement": engagement.pk,
                "detail": f"{engagement.get_type_display()}"
                + (f": {engagement.title}" if engagement.title else "")
                + f" on {timezone.localtime(engagement.occurred_at):%Y-%m-%d}",
                "points": points,
            }
            if half_life:
                age_days = max((now - engagement.occurred_at).total_seconds() / 86400, 0)
                decayed = round(points * math.pow(0.5, age_days / half_life))
                if decayed != points:
                    line["points"] = decayed
                    line["before_decay"] = points
            receipt.append(line)
        return sum(line["points"] for line in receipt), receipt


_DEFINITION_SQL: dict[str, tuple[str, rows.Reader]] = {}
# By database alias: the rows of the last load and the scorer made from them. Scorers are
# read-only (a frozen dataclass whose models nothing writes to), so one may serve many
# requests and threads.
_kept: dict[str, tuple[list[tuple], Scorer]] = {}


def _definition_rows(connection) -> list[tuple]:
    """The definition (`ScoringDefinition.current()`'s row) joined with its active rules
    in their order, raw: one row per rule, or one with NULL rule columns when none is
    active; no row when the definition was not made yet."""
    found = _DEFINITION_SQL.get(connection.vendor)
    if found is None:
        q = connection.ops.quote_name
        select = [
            *rows.columns(ScoringDefinition, "d", connection),
            *rows.columns(ScoringRule, "r", connection),
        ]
        sql = (
            f"SELECT {', '.join(select)} FROM {q(ScoringDefinition._meta.db_table)} d "  # noqa: S608 - names from the models
            f"LEFT JOIN {q(ScoringRule._meta.db_table)} r ON r.{q('is_active')} = %s "
            f"WHERE d.{q('id')} = %s "
            f"ORDER BY r.{q('kind')}, r.{q('position')}, r.{q('id')}"
        )
        reader = rows.Reader([*rows.fields(ScoringDefinition), *rows.fields(ScoringRule)], connection)
        found = _DEFINITION_SQL[connection.vendor] = (sql, reader)
    with connection.cursor() as cursor:
        cursor.execute(found[0], [True, ScoringDefinition.ONE])
        return cursor.fetchall()


def fit_matches(rule: ScoringRule, lead: Model) -> bool:
    value = field_value(lead, rule.field)
    operator = rule.operator
    if operator == FitOperator.IS_SET:
        return value not in (None, "")
    if value in (None, ""):
        return False
    if operator in (FitOperator.GTE, FitOperator.LTE):
        try:
            number, limit = Decimal(str(value)), Decimal(rule.value.strip())
        except InvalidOperation:
            return False
        return number >= limit if operator == FitOperator.GTE else number <= limit
    text = str(value).casefold()
    if operator == FitOperator.CONTAINS:
        # Whole words: "CTO" is a title in "CTO" and "Acting CTO", not in "Director".
        words = _whole_words(rule.value)
        return words is not None and words.search(text) is not None
    if operator == FitOperator.EQUALS:
        return text == rule.value.strip().casefold()
    if operator == FitOperator.IN:
        return text in _values(rule.value)
    return False


@functools.lru_cache(maxsize=256)
def _values(text: str) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in text.split(",") if v.strip())


@functools.lru_cache(maxsize=256)
def _whole_words(text: str) -> re.Pattern[str] | None:
    """One pattern for "any of these values, as whole words" (None: no values). Rules are
    few and applied to every lead an import creates: compiled once, not per lead."""
    values = _values(text)
    if not values:
        return None
    return re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(v) for v in sorted(values))})(?!\w)")


def field_value(lead: Model, field: str) -> Any:
    if field == FitField.EMAIL_DOMAIN:
        return lead.email.rpartition("@")[2]
    return getattr(lead, field, None)


# --- editing the definition (managers) ---------------------------------------------------------


def _bump(actor, summary: str, before: Any, after: Any) -> ScoringDefinition:
    definition = ScoringDefinition.objects.select_for_update().get(pk=ScoringDefinition.current().pk)
    definition.version = F("version") + 1
    definition.updated_at = timezone.now()
    definition.updated_by = actor
    definition.save()
    definition.refresh_from_db()
    agreement_change_record(
        area="scoring",
        actor=actor,
        summary=f"{summary} (definition v{definition.version})",
        before=before,
        after=after,
    )
    version = definition.version
    hooks.scoring_changed(version=version)
    return definition


def _rule_dict(rule: ScoringRule | None) -> dict[str, Any] | None:
    return None if rule is None else {k: v for k, v in model_to_dict(rule).items() if k != "id"}


@transaction.atomic
def scoring_definition_update(
    *,
    actor,
    threshold: int,
    auto_qualify: bool,
    decay_half_life_days: int | None,
) -> ScoringDefinition:
    require_manager(actor, "the scoring definition")
    definition = ScoringDefinition.objects.select_for_update().get(pk=ScoringDefinition.current().pk)
    errors: dict[str, list[str]] = {}
    if not isinstance(threshold, int) or not -1000 <= threshold <= 10000:
        errors["threshold"] = ["The threshold must be a whole number between -1000 and 10000."]
    if decay_half_life_days is not None and (
        not isinstance(decay_half_life_days, int) or not 1 <= decay_half_life_days <= 3650
    ):
        errors["decay_half_life_days"] = ["The half-life is a number of days from 1 to 3650, or empty."]
    if errors:
        raise ActionError(next(iter(errors.values()))[0], fields=errors)
    before = {
        "threshold": definition.threshold,
        "auto_qualify": definition.auto_qualify,
        "decay_half_life_days": definition.decay_half_life_days,
    }
    after = {
        "threshold": threshold,
        "auto_qualify": bool(auto_qualify),
        "decay_half_life_days": decay_half_life_days,
    }
    if before == after:
        return definition
    ScoringDefinition.objects.filter(pk=definition.pk).update(**after)
    changed = ", ".join(
        f"{k.replace('_', ' ')} {before[k]} → {after[k]}" for k in after if before[k] != after[k]
    )
    return _bump(actor, f"Scoring settings: {changed}", before, after)


@transaction.atomic
def scoring_rule_save(*, actor, rule_id: int | None = None, **values: Any) -> ScoringRule:
    """Create a rule, or change one; the definition's version moves on either way."""
    require_manager(actor, "the scoring definition")
    rule = (
        ScoringRule()
        if rule_id is None
        else ScoringRule.objects.select_for_update().filter(pk=rule_id).first()
    )
    if rule is None:
        raise ActionError(f"Scoring rule {rule_id} does not exist.", code=ActionError.NOT_FOUND)
    before = _rule_dict(rule) if rule_id is not None else None
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ActionError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    for name, value in values.items():
        setattr(rule, name, value if value is not None else ("" if name not in ("points",) else value))
    if rule.kind == RuleKind.ENGAGEMENT:
        rule.field = rule.operator = rule.value = ""
    elif rule.kind == RuleKind.FIT:
        rule.engagement_type = ""
    errors: dict[str, list[str]] = {}
    try:
        rule.full_clean()
    except ValidationError as exc:
        errors = {k: list(v) for k, v in exc.message_dict.items()}
    if rule.kind == RuleKind.FIT and rule.operator in (FitOperator.GTE, FitOperator.LTE):
        try:
            Decimal(rule.value.strip())
        except InvalidOperation:
            errors.setdefault("value", []).append("“is at least” and “is at most” need a number.")
    if rule.kind == RuleKind.FIT and rule.operator != FitOperator.IS_SET and not rule.value.strip():
        errors.setdefault("value", []).append("Say what value the field is tested against.")
    if errors:
        name, messages = next(iter(errors.items()))
        label = "" if name == "__all__" else f"{name.replace('_', ' ').capitalize()}: "
        raise ActionError(f"{label}{messages[0]}", fields=errors)
    rule.save()
    after = _rule_dict(rule)
    if before == after:
        return rule
    verb = "Added" if before is None else "Changed"
    _bump(actor, f"{verb} scoring rule “{rule.label}” ({rule.points:+d})", before, after)
    return rule


@transaction.atomic
def scoring_rule_delete(*, actor, rule_id: int) -> None:
    require_manager(actor, "the scoring definition")
    rule = ScoringRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise ActionError(f"Scoring rule {rule_id} does not exist.", code=ActionError.NOT_FOUND)
    before = _rule_dict(rule)
    label = rule.label
    rule.delete()
    _bump(actor, f"Removed scoring rule “{label}”", before, None)
