"""The opt-out keyword rule, exactly as the contract states it.

An inbound message opts its sender out when its whole trimmed text is one of the exact-case keywords,
or `opt out` in any casing with a space, a hyphen or nothing between the words. `please stop` is not
a keyword. Any later non-keyword message from them opts them back in.
"""

from __future__ import annotations

import re

EXACT_KEYWORDS = frozenset({"STOP", "UNSUBSCRIBE", "OPTOUT", "CANCEL", "END", "QUIT"})
_OPT_OUT_ANY_CASE = re.compile(r"opt[ -]?out", re.IGNORECASE)


def opt_out_keyword(text: str | None) -> str | None:
    """The keyword the message is, or None when it is an ordinary message."""
    if text is None:
        return None
    trimmed = text.strip()
    if trimmed in EXACT_KEYWORDS:
        return trimmed
    if _OPT_OUT_ANY_CASE.fullmatch(trimmed):
        return trimmed
    return None
