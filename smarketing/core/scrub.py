"""Taking given words out of text and JSON: what an erasure does to a column that may
name a person among other things (a notification's body, a stored API response).

No domain here: the caller says which words (an email, a phone, a name) and which value.
A word is matched case-insensitively; a phone also with its spaces, dashes, dots and
brackets in any places (a person's "+49 30 1234-567" is "+4930 1234567" in another row).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

ERASED = "[erased]"
# Words shorter than this are not looked for alone: "Al" would take half of every text.
MIN_WORD = 3
# A phone with fewer digits than this is not looked for: it would match dates and amounts.
MIN_PHONE_DIGITS = 6
_PHONE_SEPARATORS = r"[\s\-./()]*"


def _phone_pattern(phone: str) -> str | None:
    digits = re.sub(r"\D", "", phone)
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    # The digits in order, anything phone-like between them; a leading + or 00 optional.
    return r"(?:\+|00)?" + _PHONE_SEPARATORS.join(re.escape(d) for d in digits.lstrip("0"))


def _words(words: Iterable[str]) -> list[str]:
    """The words looked for, longest first (so "Ann Lee" goes before "Ann")."""
    return sorted({w.strip() for w in words if w and len(w.strip()) >= MIN_WORD}, key=len, reverse=True)


def words_pattern(words: Iterable[str], phones: Iterable[str] = ()) -> re.Pattern[str] | None:
    """One pattern for every word and phone; None when there is nothing to look for."""
    alternatives = [re.escape(w) for w in _words(words)]
    alternatives += [p for p in (_phone_pattern(phone) for phone in phones if phone) if p]
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _sql_char(char: str) -> str:
    """A letter as SQL finds it in text or in JSON stored as text: SQLite keeps JSON with
    every non-ASCII letter escaped ("M\\u00fcller"), PostgreSQL's jsonb as written; a case
    the database may not fold (non-ASCII) is spelled out both ways."""
    if ord(char) < 128:
        return re.escape(char)
    forms = sorted({form for form in (char, char.lower(), char.upper()) if len(form) == 1})
    escaped = [re.escape(json.dumps(form)[1:-1]) for form in forms]
    return "(?:" + "|".join([*map(re.escape, forms), *escaped]) + ")"


def sql_pattern(words: Iterable[str], phones: Iterable[str] = ()) -> str | None:
    """The text of a regular expression that finds, in SQL (`__iregex`, on PostgreSQL and
    on SQLite through Django's REGEXP), the rows `words_pattern` would change — in a text
    column or a JSON one cast to text. Escapes, non-capturing groups and bracket classes
    only, which both databases read alike. None when there is nothing to look for."""
    alternatives = ["".join(_sql_char(char) for char in word) for word in _words(words)]
    alternatives += [p for p in (_phone_pattern(phone) for phone in phones if phone) if p]
    return "|".join(alternatives) or None


def scrub_text(value: str, pattern: re.Pattern[str] | None) -> str:
    if not pattern or not value:
        return value
    return pattern.sub(ERASED, value)


def scrub_json(value: Any, pattern: re.Pattern[str] | None, *, keys: bool = True) -> Any:
    """`value` (JSON: dicts, lists, strings, numbers) with the words taken out of every
    string in it, keys included unless `keys` is False (JSON whose keys are the program's
    own names, such as an event's data: a key that happened to contain a word would
    otherwise lose the name its readers look for)."""
    if pattern is None:
        return value
    if isinstance(value, str):
        return scrub_text(value, pattern)
    if isinstance(value, list):
        return [scrub_json(item, pattern, keys=keys) for item in value]
    if isinstance(value, dict):
        return {
            (scrub_text(str(k), pattern) if keys else k): scrub_json(v, pattern, keys=keys)
            for k, v in value.items()
        }
    return value
