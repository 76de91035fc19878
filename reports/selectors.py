"""Reads of the SLA overview page: compliance per rep, team or policy for one week."""

from __future__ import annotations

import datetime as dt

from reports.commitments import week_start
from reports.metrics import sla_compliance


def compliance_by(field: str, monday: dt.date | None = None) -> list[dict]:
    """Per rep (`owner`), `team` or `policy`: clocks resolved in the week, how many were met
    on time, and the share as a whole percent — the dashboard's figures for one week."""

    monday = monday or week_start()
    rows = sla_compliance(monday, monday, by=field)
    for row in rows:
        row["percent"] = round(100 * row["compliance"]) if row["compliance"] is not None else None
    return rows
