"""The one domain error of the lead lifecycle.

Every refused action raises `ActionError` with a message a person can read and a
`code` that the API turns into a status: pages show the message as it is.

Two codes for bad input, kept apart as HTTP keeps them apart: MALFORMED (400) is input
that does not have the form the schema gives it — not a whole number, not a date, a
cursor the list did not give out; INVALID (422) is well-formed input that a rule refuses
— a reason of the wrong kind, a label already on the list, nothing changed.
"""

from __future__ import annotations


class ActionError(Exception):
    FORBIDDEN = "forbidden"
    WRONG_STAGE = "wrong_stage"
    REASON_REQUIRED = "reason_required"
    STALE_VERSION = "stale_version"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    MALFORMED = "malformed"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"

    def __init__(
        self,
        message: str,
        *,
        code: str = INVALID,
        field: str | None = None,
        fields: dict[str, list[str]] | None = None,
        data: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.fields = fields or ({field: [message]} if field else {})
        self.data = data or {}

    def __str__(self) -> str:
        return self.message
