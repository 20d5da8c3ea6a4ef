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


def test_a_replys_stored_form_is_its_fields_as_plain_data():
    # What the chat stores and acknowledges: every field but the ranking and the vector, nested sources as dicts,
    # highlights as lists, a subclass's own fields too; a copy that later changes to the reply do not reach.
    import json
    from dataclasses import asdict

    import numpy as np

    from bot.engine import Reply, SourceRef
    from bot.idea_requests import RequestReply

    source = SourceRef("article:1", "article", "1", "Refunds", "/help/articles/refunds", ["Request a refund"], 3)
    replies = [
        Reply("answer", "Here it is.", "refund?", 0.8, source=source, passage="Go to Billing.", highlights=[(0, 5)],
              related=[source], next_steps=["ask_community"], ranked=["article:1"], query_vector=np.ones(3)),
        RequestReply("idea", "An idea meets it.", "dark mode", 0.1, idea={"id": 1, "tags": ["ui"]},
                     report_offer={"url": "/beta/report"}, engine_kind="abstain"),
    ]
    for reply in replies:
        expected = asdict(reply)
        expected["highlights"] = [list(h) for h in reply.highlights]
        del expected["ranked"], expected["query_vector"]
        stored = reply.to_dict()
        assert stored == expected and json.loads(json.dumps(stored)) == stored
    stored = replies[0].to_dict()
    replies[0].related[0].heading_path.append("changed later")
    assert stored["related"][0]["heading_path"] == ["Request a refund"]
