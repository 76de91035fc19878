"""A hand-built history with known answers, edges included (the reports tests' data)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine

from leads import services
from smarketing.core.errors import ActionError


def attempt(action, **kwargs) -> bool:
    """Call a service; a refusal (the random history asked for something the rules forbid)
    is an outcome, not a failure."""
    try:
        action(**kwargs)
    except ActionError:
        return False
    return True


BERLIN = ZoneInfo("Europe/Berlin")
W1 = dt.date(2026, 11, 2)  # ISO week 45
W2 = dt.date(2026, 11, 9)
W3 = dt.date(2026, 11, 16)  # nothing happens: an empty week


def at(day: dt.date, hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=days), dt.time(hour, minute), tzinfo=BERLIN)


def make_history(org, make_lead, reasons):
    """
    W1: A created Mon, qualified, rejected, re-qualified (note), accepted — all in W1.
        B created Sun 23:30 Berlin (still W1), qualified Mon 00:30 Berlin (W2).
        C created, qualified, accepted, won without a touch — W1.
    W2: D qualified, rejected (W2), re-qualified and rejected again (W2): recycled twice.
        E: created in W1, qualified and accepted in W2, lost to nurture in W2.
    W3: nothing.
    """

    def when(moment):
        return time_machine.travel(moment, tick=False)

    leads = {}
    with when(at(W1, 9)):
        leads["A"] = make_lead(last_name="A")
        leads["C"] = make_lead(last_name="C")
        leads["D"] = make_lead(last_name="D")
        leads["E"] = make_lead(last_name="E")
    with when(at(W1, 10)):
        services.lead_qualify(lead_id=leads["A"].pk, actor=org.marketer)
        services.lead_qualify(lead_id=leads["C"].pk, actor=org.marketer)
    with when(at(W1, 11)):
        services.lead_reject(lead_id=leads["A"].pk, actor=org.rep, reason=reasons.rejection)
        services.lead_accept(lead_id=leads["C"].pk, actor=org.rep)
    with when(at(W1, 12)):
        services.lead_qualify(lead_id=leads["A"].pk, actor=org.marketer, note="Budget confirmed")
    with when(at(W1, 13)):
        services.lead_accept(lead_id=leads["A"].pk, actor=org.rep)
        services.lead_win(lead_id=leads["C"].pk, actor=org.rep, amount="5000", closed_on=W1)
    with when(at(W1, 23, 30, days=6)):  # Sunday 23:30 in Berlin: still week 45
        leads["B"] = make_lead(last_name="B")
    with when(at(W2, 0, 30)):  # Monday 00:30 in Berlin (Sunday 23:30 UTC): week 46
        services.lead_qualify(lead_id=leads["B"].pk, actor=org.marketer)
    with when(at(W2, 9)):
        services.lead_qualify(lead_id=leads["D"].pk, actor=org.marketer)
        services.lead_qualify(lead_id=leads["E"].pk, actor=org.marketer)
    with when(at(W2, 10)):
        services.lead_reject(lead_id=leads["D"].pk, actor=org.rep, reason=reasons.rejection)
        services.lead_accept(lead_id=leads["E"].pk, actor=org.rep)
    with when(at(W2, 11)):
        services.lead_qualify(lead_id=leads["D"].pk, actor=org.marketer, note="New contact")
    with when(at(W2, 12)):
        services.lead_reject(lead_id=leads["D"].pk, actor=org.rep, reason=reasons.rejection)
        services.lead_lose(lead_id=leads["E"].pk, actor=org.rep, reason=reasons.loss_recycle)
    return leads
