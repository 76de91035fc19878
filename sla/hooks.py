"""What SLA enforcement asks of the funnel (see `smarketing.core.hooks`).

A breached clock's policy may take the lead from its rep. The funnel owns every stage
change and reassignment, so enforcement asks it to, through these hooks, which `leads`
connects in its `AppConfig.ready()`. Each handler changes nothing (and returns None) when
the lead moved on or changed hands meanwhile, so a repeated call is harmless.
"""

from smarketing.core.hooks import hook

breach_reassign = hook(
    "sla.breach_reassign",
    "A breached clock's policy reassigns: give lead `lead_id` from rep `from_owner_id` to the "
    "next available rep, with `note`, while breached clock `clock_id` is still the lead's "
    "obligation. Returns the lead, or None when nothing was done.",
    single=True,
)

breach_return = hook(
    "sla.breach_return",
    "A breached response clock's policy returns the MQL: send lead `lead_id` from rep "
    "`from_owner_id` back to marketing, with `note`, while breached clock `clock_id` is still "
    "the lead's obligation. Returns the lead, or None when nothing was done.",
    single=True,
)
