"""A bot customers can trust: unrelated follow-ups, calibrated confidence, learning, quoted steps."""
from __future__ import annotations

import pytest

from bot import chat
from bot.engine import ConversationContext, answer
from bot.views import render_passage
from community.extensions import db
from community.models import Article

KEY = "session-key-trust"


@pytest.mark.parametrize("off_topic", ["what's the weather in Paris", "Tell me a joke"])
def test_unrelated_message_mid_conversation_gets_the_reply_it_would_get_alone(app, help_center, off_topic):
    alone = answer(off_topic)
    chat.send_message(None, KEY, "I forgot my password")
    db.session.commit()
    reply = chat.send_message(None, KEY, off_topic).reply
    assert alone.kind == reply.reply_kind == "abstain"
    assert reply.question == off_topic  # not glued to the password question
    assert reply.confidence == pytest.approx(alone.confidence, abs=1e-6) and reply.confidence < 0.5


def test_a_real_continuation_is_still_read_with_the_previous_question(app, help_center):
    context = ConversationContext(previous_question="how do I install the app")
    reply = answer("on android?", context)
    assert reply.kind == "answer" and reply.question == "how do I install the app on android?"
    assert reply.source.source_id == str(help_center["install-android"].id)


def test_confidence_shown_is_the_calibrated_probability(app, help_center):
    right = answer("I forgot my password, how do I reset it?")
    assert right.kind == "answer" and right.source.source_id == str(help_center["reset-password"].id)
    # A clear paraphrase of an article's own question is very likely right, and says so.
    assert 0.8 <= right.confidence <= 1.0
    assert answer("Tell me a joke").confidence < 0.5


def test_a_confirmed_answer_teaches_the_article_and_staff_can_remove_it(app, help_center):
    question = "my login secret slipped my mind, what now"
    exchange = chat.send_message(None, KEY, question)
    assert exchange.reply.reply_kind == "answer"
    article = db.session.get(Article, exchange.reply.article_id)
    chat.record_feedback(None, KEY, exchange.reply.id, True)
    db.session.commit()
    assert question in article.questions  # listed in the editor, where staff review it
    # A second thumbs-up on the same wording adds nothing.
    chat.record_feedback(None, KEY, exchange.reply.id, True)
    db.session.commit()
    assert article.questions.count(question) == 1


def test_quote_is_the_steps_not_the_introduction(app, help_center):
    reply = answer("I forgot my password and need a reset link")
    assert reply.kind == "answer"
    # A section of the article (its heading shown with the source), not the lead-in restating the question.
    assert reply.source.heading_path == ["Reset your password"]
    assert "Forgot password?" in reply.passage and not reply.passage.startswith("If you've forgotten")
    html = str(render_passage(reply.passage, reply.highlights))
    assert "<ol>" in html and html.count("<mark>") == 1  # the steps, as a list


def test_passage_markdown_is_rendered_and_sanitised():
    text = "Plans:\n\n| Plan | Reply |\n|---|---|\n| Free | 2 days |\n\n- one\n- two <script>alert(1)</script>\n\n`code`"
    html = str(render_passage(text, [[0, 6], [999, 2000], "bad"]))
    assert "<table>" in html and "<ul>" in html and "<code>code</code>" in html
    assert "<script>" not in html and "<mark>Plans:</mark>" in html
    # A highlight across two list items leaves balanced markup behind.
    html = str(render_passage("- one\n- two", [[2, 10]]))
    assert html.count("<mark>") == html.count("</mark>")


def test_staff_see_what_the_bot_learned_in_the_editor(app, help_center, client, auth, create_user):
    from community.models import Role

    question = "<b>my login secret</b> slipped my mind, what now"
    exchange = chat.send_message(None, KEY, question)
    assert exchange.reply.reply_kind == "answer"
    chat.record_feedback(None, KEY, exchange.reply.id, True)
    db.session.commit()
    staff = create_user(role=Role.staff)
    auth.login(staff.email)
    page = client.get(f"/help/manage/{exchange.reply.article_id}/edit").get_data(as_text=True)
    learned = page.split('class="learned-questions"')[1].split("</div>")[0]
    assert "&lt;b&gt;my login secret&lt;/b&gt; slipped my mind, what now" in learned and "<b>" not in learned
