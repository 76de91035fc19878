"""The one table of stage transitions (docs/product.md, "Funnel stages"), and the checks it
drives.

Each row says, for one verb: the stages it may start from, the stages it may end in, the
event it writes, who may act (a predicate on the person and the lead, with the words a
refusal uses), whether the system may act without a person, and which agreed list a
reason must come from. `leads.services.transitions` reads the row for every move — the
stage check, the person check, the target and the event all come from here — so a
change to a row is a change to the product. A test edits rows and sees the services
follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from leads import permissions
from leads.models import EventType, Lead, Stage
from smarketing.agreement.models import ReasonKind
from smarketing.core.errors import ActionError

Who = Callable[[object, Lead], bool]


@dataclass(frozen=True)
class Transition:
    name: str
    past: str  # "qualified", "accepted", …: for messages
    event: str  # the EventType it writes
    sources: frozenset[str]  # the stages it may start from
    targets: frozenset[str]  # where it may end (lose: lead or disqualified, as the reason says)
    who: Who | None  # who may act; None: no person, only the system
    who_words: str  # "only … can", in a refusal
    system: bool = False  # the system (no person) may act: automatic hand-off, SLA escalation
    reason: str | None = None  # the agreed reasons' kind a reason must come from
    who_words_by_stage: dict[str, str] = field(default_factory=dict)  # where the words differ

    @property
    def target(self) -> str | None:
        """The one stage it ends in, or None when the stage stays (reassign) or depends on
        the reason (lose)."""
        return next(iter(self.targets)) if len(self.targets) == 1 else None


def _t(name, past, event, sources, targets, who, who_words, **extra) -> Transition:
    return Transition(name, past, event, frozenset(sources), frozenset(targets), who, who_words, **extra)


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        _t(
            "qualify",
            "qualified",
            EventType.QUALIFIED,
            {Stage.LEAD},
            {Stage.MQL},
            permissions.acts_for_marketing,
            "marketing",
            system=True,
        ),
        _t(
            "accept",
            "accepted",
            EventType.ACCEPTED,
            {Stage.MQL},
            {Stage.SQL},
            permissions.acts_for_owner,
            "the assigned rep or their manager",
        ),
        _t(
            "reject",
            "rejected",
            EventType.REJECTED,
            {Stage.MQL},
            {Stage.LEAD},
            permissions.acts_for_owner,
            "the assigned rep or their manager",
            reason=ReasonKind.REJECTION,
        ),
        _t(
            "win",
            "won",
            EventType.WON,
            {Stage.SQL},
            {Stage.CUSTOMER},
            permissions.acts_for_owner,
            "the owner rep or their manager",
        ),
        _t(
            "lose",
            "lost",
            EventType.LOST,
            {Stage.SQL},
            {Stage.LEAD, Stage.DISQUALIFIED},
            permissions.acts_for_owner,
            "the owner rep or their manager",
            reason=ReasonKind.LOSS,
        ),
        _t(
            "disqualify",
            "disqualified",
            EventType.DISQUALIFIED,
            {Stage.LEAD, Stage.MQL, Stage.SQL},
            {Stage.DISQUALIFIED},
            permissions.may_disqualify,
            "the owner rep or their manager",
            reason=ReasonKind.DISQUALIFICATION,
            who_words_by_stage={Stage.LEAD: "marketing (sales disqualifies MQLs and SQLs)"},
        ),
        _t(
            "reopen",
            "reopened",
            EventType.REOPENED,
            {Stage.DISQUALIFIED},
            {Stage.LEAD},
            permissions.may_reopen,
            "a marketer or a manager",
        ),
        _t(
            "return",
            "returned",
            EventType.RETURNED,
            {Stage.MQL},
            {Stage.LEAD},
            None,
            "SLA enforcement, when sales did not respond in time",
            system=True,
        ),
        _t(
            "reassign",
            "reassigned",
            EventType.REASSIGNED,
            {Stage.MQL, Stage.SQL},
            {Stage.MQL, Stage.SQL},
            permissions.may_reassign,
            "the manager of the owner's sales team",
            system=True,
        ),
    )
}


def check_stage(transition: Transition, stage: str) -> None:
    """Refuse a transition from a stage its row does not start from."""
    if stage not in transition.sources:
        allowed = " or ".join(Stage(s).label for s in sorted(transition.sources))
        raise ActionError(
            f"Cannot {transition.name} this lead: it is {Stage(stage).label}, and only a lead in "
            f"{allowed} can be {transition.past}.",
            code=ActionError.WRONG_STAGE,
        )


def check_who(transition: Transition, actor, lead: Lead) -> None:
    """Refuse a person the row does not allow (or the system, where the row has no place
    for it). `actor=None` is the system."""
    if actor is None:
        allowed = transition.system
    else:
        allowed = transition.who is not None and transition.who(actor, lead)
    if not allowed:
        words = transition.who_words_by_stage.get(lead.stage, transition.who_words)
        raise ActionError(
            f"You cannot {transition.name} this lead: only {words} can.", code=ActionError.FORBIDDEN
        )


def check_target(transition: Transition, stage: str) -> None:
    """A move to a stage the row does not end in is a bug, not a user's mistake."""
    if stage not in transition.targets:
        raise AssertionError(f"{transition.name} may end in {sorted(transition.targets)}, not {stage}.")


def actions_for(user, lead: Lead) -> set[str]:
    """The actions a page offers this person on this lead now: each transition whose row
    lets them act from the lead's stage, and the entries that move no stage (an
    engagement for marketing; a touch or a snooze on an SQL for its rep). Pages hide the
    rest; the services check again, so this is convenience, not the guard."""
    if lead.merged_into_id is not None or not user.is_authenticated:
        return set()
    actions = {
        name
        for name, transition in TRANSITIONS.items()
        if transition.who is not None and lead.stage in transition.sources and transition.who(user, lead)
    }
    if permissions.acts_for_marketing(user, lead):
        actions.add("engagement")
    if lead.stage == Stage.SQL and permissions.acts_for_owner(user, lead):
        actions |= {"touch", "snooze"}
    return actions
