"""What the agreement asks of the apps above it (see `smarketing.core.hooks`).

The agreement holds the terms both teams work to, but some of its parts are kept by the
apps that enforce them: the SLA policies by `sla`, marketing's weekly commitment by
`reports`. Those apps connect here, in their `AppConfig.ready()`.
"""

from smarketing.core.hooks import hook

version_operations = hook(
    "agreement.version_operations",
    "The changes a version of the agreement may hold, kept by other apps: each handler "
    "returns {operation name: service}, the service taking `actor` and the change's "
    "arguments (it validates them and writes the change, as a direct call would).",
)

terms_sections = hook(
    "agreement.terms_sections",
    "Sections of the agreement's terms that other apps keep: each handler returns "
    "{section key: JSON list}, read from the live configuration (`sla_policies`, "
    "`commitments`).",
)

scoring_changed = hook(
    "agreement.scoring_changed",
    "The scoring definition moved to version `version` (inside the change's transaction): "
    "the leads scored under an older one are to be re-scored after commit.",
)
