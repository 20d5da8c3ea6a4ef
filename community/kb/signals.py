"""What the help center tells other features, without knowing them (the bot connects at start-up)."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent with (sender=Article, question=str, user_id=int | None) when a reader says an article did not answer
# what they were looking for; receivers run inside the caller's transaction and only flush.
article_not_helpful = _signals.signal("article-not-helpful")
