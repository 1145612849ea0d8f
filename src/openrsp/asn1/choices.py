"""Finding the alternatives of extensible CHOICEs that the schema does not know.

asn1tools decodes an alternative it has no type for (the extension marker allows it) as
(None, None) and carries on. Code that reads the value then fails with a TypeError far away; a peer's
message that holds one is refused here instead, with a clear error.
"""

from __future__ import annotations

from typing import Any


def unknown_alternative_in(value: Any) -> bool:
    """True when an asn1tools value holds (None, None) anywhere: a CHOICE alternative not understood."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, tuple) and len(item) == 2:
            if item[0] is None:
                return True
            if isinstance(item[0], str):  # (alternative name, value); BIT STRINGs are (bytes, int)
                pending.append(item[1])
    return False
