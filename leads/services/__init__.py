"""Every write to a lead, and every stage transition, in one place.

Each transition: one database transaction, the lead row locked, its row of the one
transition table (`leads.stages.TRANSITIONS`) read and checked — the stages it starts
from, who may act, where it goes and which event it writes — one immutable `LeadEvent`
written, side effects (notifications, SLA clocks' messages) queued after commit. An
illegal move raises `ActionError` and changes nothing.

The package, by concern: `base` (lock, version, refusals), `profile` (the one profile
validation, edits), `create` (one lead or many), `activity` (engagements, touches),
`transitions` (the stage machine), `merge`, `notes` (notes with @mentions). Callers use the names below.
"""

from leads.services.activity import engagement_log, touch_log
from leads.services.consent import CONSENT_FIELDS, consent_clean, lead_consent_record
from leads.services.create import (
    MigratedLeads,
    NewLeads,
    lead_create,
    leads_create_many,
    leads_create_migrated,
    leads_prepare,
    leads_prepare_migrated,
)
from leads.services.history import History, Step, history_check
from leads.services.merge import lead_merge
from leads.services.notes import NOTE_MAX, NoteResult, lead_note_add
from leads.services.profile import (
    PROFILE_FIELDS,
    email_valid,
    lead_find_duplicate,
    lead_profile_validate,
    lead_update,
    leads_fill_blanks,
)
from leads.services.transitions import (
    SNOOZE_MAX_DAYS,
    handoff_missing,
    lead_accept,
    lead_auto_qualify,
    lead_disqualify,
    lead_lose,
    lead_qualify,
    lead_reassign,
    lead_reject,
    lead_reopen,
    lead_return_to_marketing,
    lead_sla_reassign,
    lead_snooze,
    lead_win,
)

__all__ = [
    "CONSENT_FIELDS",
    "consent_clean",
    "lead_consent_record",
    "NOTE_MAX",
    "PROFILE_FIELDS",
    "SNOOZE_MAX_DAYS",
    "NewLeads",
    "NoteResult",
    "email_valid",
    "engagement_log",
    "handoff_missing",
    "lead_accept",
    "lead_auto_qualify",
    "lead_create",
    "lead_disqualify",
    "lead_find_duplicate",
    "lead_lose",
    "lead_merge",
    "lead_note_add",
    "lead_profile_validate",
    "lead_qualify",
    "lead_reassign",
    "lead_reject",
    "lead_reopen",
    "lead_return_to_marketing",
    "lead_sla_reassign",
    "lead_snooze",
    "lead_update",
    "lead_win",
    "leads_create_many",
    "leads_create_migrated",
    "leads_prepare_migrated",
    "MigratedLeads",
    "leads_prepare_migrated",
    "MigratedLeads",
    "History",
    "Step",
    "history_check",
    "leads_fill_blanks",
    "leads_prepare",
    "touch_log",
]
