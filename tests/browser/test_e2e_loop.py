"""The whole knowledge-capture loop in real browsers, one actor per browser context:

a customer asks the bot something the help center does not cover -> abstain -> posts it to the
community -> another customer answers -> the asker accepts -> staff propose and publish it ->
the asker is notified -> a third visitor asks the same thing in other words and the bot answers
from the new article, crediting the community answerer.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from community.extensions import db
from community.forum import services as forum
from community.models import Article, ArticleSource, ArticleStatus, GapStatus, KnowledgeGap
from tests.browser.helpers import fresh, login

pytestmark = pytest.mark.browser

QUESTION = "Can I read my notebooks on a Kobo e-reader?"
PARAPHRASE = "how do I put my notes on a kobo ereader"
ANSWER = ("Yes. Export the notebook as an EPUB file, connect the Kobo with its USB cable and copy the file into "
          "the Kobo's main folder. After you eject the e-reader the notebook shows up under My Books.")


def test_an_unanswered_question_becomes_a_community_answer_then_an_article_the_bot_cites(
        app, help_center, live_server, new_page, create_user):
    app.config.update(FORUM_NEW_ACCOUNT_POSTS=0, FORUM_NEW_ACCOUNT_HOURS=0)
    forum.save_category(None, name="Getting started", description="Setup questions")
    db.session.commit()
    create_user(email="ana@example.com", display_name="Ana Lima")
    create_user(email="ben@example.com", display_name="Ben Ode")
    create_user(email="sam@example.com", display_name="Sam Support", role="staff")

    # 1. Ana asks the bot; the help center does not cover it, so the bot says so and offers next steps.
    ana = new_page()
    login(ana, live_server, "ana@example.com")
    ana.goto(f"{live_server}/chat/")
    box = ana.locator(".chat-page [data-chat]")
    box.locator("textarea[name=text]").fill(QUESTION)
    box.locator("textarea[name=text]").press("Enter")
    abstain = box.locator(".chat-kind-abstain").last
    expect(abstain).to_contain_text("I couldn't find a good answer")
    gap = fresh(select(KnowledgeGap))
    assert gap is not None and gap.status is GapStatus.open and gap.thread_id is None

    # 2. She posts it to the community in one step, seeing (and keeping) the prefilled text.
    abstain.get_by_role("link", name="Ask the community").click()
    expect(ana.get_by_label("Title")).to_have_value(QUESTION)
    ana.get_by_label("Your question or topic (Markdown)").fill(
        QUESTION + "\n\nI'd like to read them on my commute.")
    ana.get_by_role("button", name="Post thread").click()
    expect(ana.get_by_role("heading", name=QUESTION)).to_be_visible()
    thread_url = ana.url
    thread_id = int(thread_url.rsplit("/", 1)[1])
    assert fresh(select(KnowledgeGap.thread_id)) == thread_id

    # 3. Ben answers; 4. Ana accepts his answer.
    ben = new_page()
    login(ben, live_server, "ben@example.com")
    ben.goto(thread_url)
    ben.get_by_label("Your reply (Markdown)").fill(ANSWER)
    ben.get_by_role("button", name="Post reply").click()
    expect(ben.locator(".reply .post-body")).to_contain_text("EPUB")
    ana.reload()
    ana.get_by_role("button", name="Accept as answer").click()
    expect(ana.locator(".reply.accepted .accepted-label")).to_contain_text("Accepted answer")

    # 5. Staff propose it for the help center and publish the draft.
    sam = new_page()
    login(sam, live_server, "sam@example.com")
    sam.goto(thread_url)
    sam.get_by_role("button", name="Propose for the help center").click()
    expect(sam).to_have_url(re.compile(r"/help/manage/"))
    draft = fresh(select(Article).where(Article.origin_thread_id == thread_id))
    assert draft.status is ArticleStatus.draft and draft.source is ArticleSource.community
    assert "EPUB" in draft.body and "commute" in draft.body  # question and answer, one unit
    sam.get_by_label("Status").select_option("published")
    sam.get_by_role("button", name="Save").click()
    # The edit page already shows "The draft article is ready" from the proposal: wait for the save's own message.
    expect(sam.locator(".flash-success")).to_contain_text("Article saved")
    article = fresh(select(Article).where(Article.origin_thread_id == thread_id))
    assert article.status is ArticleStatus.published
    assert article.credited_user_id is not None
    assert fresh(select(KnowledgeGap.status)) is GapStatus.answered

    # 6. Ana is told her question now has an answer.
    ana.goto(f"{live_server}/notifications/")
    expect(ana.locator(".notification", has_text="Your question now has an answer")).to_be_visible()

    # 7. A visitor asks the same thing in other words: the bot answers from the new article
    #    and credits the community member who answered.
    carla = new_page()
    carla.goto(f"{live_server}/chat/")
    box = carla.locator(".chat-page [data-chat]")
    box.locator("textarea[name=text]").fill(PARAPHRASE)
    box.locator("textarea[name=text]").press("Enter")
    answer = box.locator(".chat-kind-answer").last
    expect(answer).to_contain_text(article.title)
    expect(answer).to_contain_text("Ben Ode")
    expect(answer.locator(".chat-passage")).to_contain_text("EPUB")
    answer.locator("a.chat-source-link").click()
    expect(carla.locator("h1")).to_have_text(article.title)
