"""The bot ranks exactly from its own passages on small knowledge bases and from the shared index's
candidates on large ones; both paths must reach the same replies."""
from __future__ import annotations

import pytest

from bot.engine import answer
from tests.bot.chat_fixtures import UNRELATED

QUESTIONS = ["I forgot my password", "can I get my money back", "how do I install the app on my android phone",
             "export a notebook as pdf", UNRELATED]


@pytest.mark.parametrize("question", QUESTIONS)
def test_exact_and_candidate_ranking_agree(app, help_center, question):
    exact = answer(question)
    app.config["COKNOW_BOT_EXACT_MAX_PASSAGES"] = 0  # force the shared index's candidates
    try:
        indexed = answer(question)
    finally:
        app.config.pop("COKNOW_BOT_EXACT_MAX_PASSAGES")
    assert indexed.kind == exact.kind
    assert (indexed.source.key if indexed.source else None) == (exact.source.key if exact.source else None)
    assert indexed.ranked[:3] == exact.ranked[:3]
    assert abs(indexed.confidence - exact.confidence) < 1e-4
    if question != UNRELATED:
        assert exact.kind == "answer"
