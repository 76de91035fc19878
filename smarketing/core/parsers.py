"""The API's JSON parser: DRF's, refusing documents nested too deep.

`[[[[…` a hundred thousand deep makes Python's JSON reader give up with a RecursionError,
which DRF does not catch (a 500); a few thousand deep parses, and then walks every
serializer recursively. No request the API takes is nested more than a few levels, so
anything deeper than MAX_DEPTH is refused as malformed, with a message.
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(self._too_deep) from None
        if depth_exceeds(data, MAX_DEPTH):
            raise ParseError(self._too_deep)
        return data

    _too_deep = f"JSON parse error: nested more than {MAX_DEPTH} levels deep."


def depth_exceeds(data, limit: int) -> bool:
    """Whether lists and objects in `data` nest more than `limit` deep (without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
