"""Segments rank demand beyond ideas: knowledge gaps and the support console's queue."""
from __future__ import annotations

from bot import capture, chat, handoff
from community.extensions import db
from community.models import GapSource
from tests.bot.chat_fixtures import UNRELATED


def test_a_gap_asked_by_a_most_valuable_customer_outranks_two_visitors(app, world):
    valuable = capture.record_gap("Can I use Tidepool on a Kindle Scribe?", GapSource.abstain, user=world.ana)
    crowd = capture.record_gap("How do I get a refund for last month?", GapSource.abstain, conversation_id=None)
    capture.record_gap("refund for last month please", GapSource.abstain, conversation_id=None)
    db.session.commit()
    ranked = capture.ranked_gaps()
    assert [r.gap.id for r in ranked] == [valuable.id, crowd.id]
    assert ranked[0].demand > ranked[1].demand and ranked[1].askers == 2
    assert ranked[0].segments == (("most_valuable", 1),) and ranked[1].segments == ()


def test_the_console_queue_puts_the_most_valuable_customer_first(app, help_center, world):
    chat.send_message(None, "visitor", "my export to PDF is blank")
    chat.request_handoff(None, "visitor")
    chat.send_message(world.bo, None, UNRELATED)
    chat.request_handoff(world.bo, None)
    chat.send_message(world.ana, None, "can I get my money back?")
    chat.request_handoff(world.ana, None)
    db.session.commit()
    items = handoff.queue()
    assert [(i.customer_name, i.segment) for i in items] == [
        ("Ana Lima", "most_valuable"), ("Visitor", None), ("Bo Chen", "ordinary")]
