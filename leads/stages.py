"""The one table of allowed stage transitions (DESIGN.md, "Funnel stages")."""

from __future__ import annotations

from dataclasses import dataclass

from .models import EventType, Stage


@dataclass(frozen=True)
class Transition:
    name: str
    event: str
    sources: frozenset[str]
    targets: frozenset[str]  # lose goes to lead or disqualified, as the reason says
    who: str  # in words, for messages and docs


def _t(name, event, sources, targets, who) -> Transition:
    return Transition(name, event, frozenset(sources), frozenset(targets), who)


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        _t("qualify", EventType.QUALIFIED, {Stage.LEAD}, {Stage.MQL}, "a marketer or marketing manager"),
        _t("accept", EventType.ACCEPTED, {Stage.MQL}, {Stage.SQL}, "the assigned rep or their manager"),
        _t("reject", EventType.REJECTED, {Stage.MQL}, {Stage.LEAD}, "the assigned rep or their manager"),
        _t("win", EventType.WON, {Stage.SQL}, {Stage.CUSTOMER}, "the owner rep or their manager"),
        _t(
            "lose",
            EventType.LOST,
            {Stage.SQL},
            {Stage.LEAD, Stage.DISQUALIFIED},
            "the owner rep or their manager",
        ),
        _t(
            "disqualify",
            EventType.DISQUALIFIED,
            {Stage.LEAD, Stage.MQL, Stage.SQL},
            {Stage.DISQUALIFIED},
            "marketing in lead, sales in MQL or SQL",
        ),
        _t("reopen", EventType.REOPENED, {Stage.DISQUALIFIED}, {Stage.LEAD}, "a marketer or manager"),
        _t(
            "return",
            EventType.RETURNED,
            {Stage.MQL},
            {Stage.LEAD},
            "SLA enforcement, when sales did not respond in time",
        ),
        _t(
            "reassign",
            EventType.REASSIGNED,
            {Stage.MQL, Stage.SQL},
            {Stage.MQL, Stage.SQL},
            "the sales manager",
        ),
    )
}


def check_stage(name: str, stage: str) -> None:
    """Refuse a transition from a stage the table does not allow it from."""
    from .errors import LeadActionError

    transition = TRANSITIONS[name]
    if stage not in transition.sources:
        allowed = " or ".join(Stage(s).label for s in sorted(transition.sources))
        raise LeadActionError(
            f"Cannot {name} this lead: it is {Stage(stage).label}, and only a lead in "
            f"{allowed} can be {past_tense(name)}.",
            code=LeadActionError.WRONG_STAGE,
        )


def past_tense(name: str) -> str:
    return {
        "qualify": "qualified",
        "accept": "accepted",
        "reject": "rejected",
        "win": "won",
        "lose": "lost",
        "disqualify": "disqualified",
        "reopen": "reopened",
        "reassign": "reassigned",
        "return": "returned",
    }[name]
