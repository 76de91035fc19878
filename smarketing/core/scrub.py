"""Taking given words out of text and JSON: what an erasure does to a column that may
name a person among other things (a notification's body, a stored API response).

No domain here: the caller says which words (an email, a phone, a name) and which value.
A word is matched case-insensitively; a phone also with its spaces, dashes, dots and
brackets in any places (a person's "+49 30 1234-567" is "+4930 1234567" in another row).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

ERASED = "[erased]"
# Words shorter than this are not looked for alone: "Al" would take half of every text.
MIN_WORD = 3
_PHONE_SEPARATORS = r"[\s\-./()]*"


def _phone_pattern(phone: str) -> str | None:
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 6:
        return None
    # The digits in order, anything phone-like between them; a leading + or 00 optional.
    return r"(?:\+|00)?" + _PHONE_SEPARATORS.join(re.escape(d) for d in digits.lstrip("0"))


def words_pattern(words: Iterable[str], phones: Iterable[str] = ()) -> re.Pattern[str] | None:
    """One pattern for every word and phone, longest first (so "Ann Lee" goes before
    "Ann"); None when there is nothing to look for."""
    parts = sorted({w.strip() for w in words if w and len(w.strip()) >= MIN_WORD}, key=len, reverse=True)
    alternatives = [re.escape(w) for w in parts]
    alternatives += [p for p in (_phone_pattern(phone) for phone in phones if phone) if p]
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)


def scrub_text(value: str, pattern: re.Pattern[str] | None) -> str:
    if not pattern or not value:
        return value
    return pattern.sub(ERASED, value)


def scrub_json(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """`value` (JSON: dicts, lists, strings, numbers) with the words taken out of every
    string in it, keys included."""
    if pattern is None:
        return value
    if isinstance(value, str):
        return scrub_text(value, pattern)
    if isinstance(value, list):
        return [scrub_json(item, pattern) for item in value]
    if isinstance(value, dict):
        return {scrub_text(str(k), pattern): scrub_json(v, pattern) for k, v in value.items()}
    return value
