"""One tag normaliser for every feature that tags things (forum threads, ideas)."""
from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import gettext as _

from community.errors import ValidationFailed

MAX_TAGS = 5
MAX_TAG = 30  # the forum's tags table holds 40; a tag is a word or two, not a sentence
# Letters and digits of any script, plus the few marks names like "c++", "c#" and "node.js" need;
# every other run of characters (spaces, punctuation, underscores) becomes one hyphen.
_SEPARATORS = re.compile(r"(?:[^\w+#.]|_)+")


def tag_name(raw: object) -> str:
    """The normal form of one tag: lower case, separators as single hyphens, no hyphen at either end."""
    return _SEPARATORS.sub("-", str(raw).strip().lower()).strip("-")


def normalize_tags(raw: str | Iterable[str] | None) -> list[str]:
    """Tags from a comma-separated string or a list: normalised, distinct, in order; too many or too
    long is a ValidationFailed naming the tags field."""
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    names: list[str] = []
    for item in items:
        name = tag_name(item)
        if not name:
            continue
        if len(name) > MAX_TAG:
            message = _("A tag can be at most %(n)d characters long.", n=MAX_TAG)
            raise ValidationFailed(message, {"tags": [message]})
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        message = _("Use at most %(n)d tags.", n=MAX_TAGS)
        raise ValidationFailed(message, {"tags": [message]})
    return names
