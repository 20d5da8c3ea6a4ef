"""Row ids as chat clients send them: a JSON number from the socket and the API, text from a form."""
from __future__ import annotations

from community.database import MAX_ROW_ID


def parse_row_id(value: object) -> int | None:
    """The id as an int, or None when the value is not one (booleans are not ids, though Python says they are ints)."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ROW_ID:
        return value
    return None  # beyond the database's integer range no row can have it
