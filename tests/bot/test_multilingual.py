"""Chinese questions and answers across languages: the multilingual model (USE v3) beside MiniLM (issue 19).

Real models, real FAISS, a real database; the help centers are the demo seed's own articles."""
from __future__ import annotations

import json

import pytest

from bot.engine import answer
from community.extensions import db
from community.kb.services import create_article
from community.models import ArticleStatus, index_entries
from knowledge_index.multilingual import MODEL_NAME as SECOND_MODEL, has_cjk

from .chat_fixtures import SEED

IN_ENGLISH = "This answer comes from an article in English."
IN_CHINESE = "This answer comes from an article in Chinese."


def _publish(*slugs: str) -> None:
    records = {r["id"]: r for r in map(json.loads, filter(None, SEED.read_text(encoding="utf-8").splitlines()))}
    for slug in slugs:
        r = records[slug]
        create_article(r["title"], r["body"], questions=r["questions"], status=ArticleStatus.published, slug=slug)
    db.session.commit()


@pytest.fixture
def chinese_help_center(app):
    _publish("zh-reset-password", "zh-export-markdown", "zh-sync-not-working", "zh-two-factor", "zh-refunds")


@pytest.fixture
def bilingual_help_center(app, help_center):
    _publish("zh-reset-password", "zh-export-markdown", "zh-sync-not-working", "zh-two-factor", "zh-refunds")


def test_articles_store_a_second_vector_and_forum_posts_do_not(app, chinese_help_center):
    t = index_entries.c
    rows = db.session.execute(db.select(t.source_type, t.model2, t.dim2, t.vector2).where(t.deleted.is_(False))).all()
    articles = [r for r in rows if r.source_type == "article"]
    assert articles and all(r.model2 == SECOND_MODEL and r.dim2 == 512 and len(r.vector2) == 512 * 4 for r in articles)


def test_a_chinese_question_is_answered_from_the_chinese_article(app, bilingual_help_center):
    reply = answer("我忘了密码，怎么重新设置？")
    assert reply.kind == "answer", reply
    assert reply.source is not None and reply.source.title == "重置忘记的密码"
    assert IN_ENGLISH not in reply.text and has_cjk(reply.passage)


def test_a_chinese_question_only_an_english_article_answers(app, help_center):
    reply = answer("如何把笔记导出为 Markdown？")
    assert reply.kind == "answer", reply
    assert reply.source is not None and reply.source.url.endswith("export-markdown-pdf-html")
    assert reply.text.endswith(IN_ENGLISH)


def test_an_english_question_only_a_chinese_article_answers(app, chinese_help_center):
    reply = answer("How do I turn on two-factor authentication?")
    assert reply.kind == "answer", reply
    assert reply.source is not None and reply.source.title == "开启两步验证（2FA）"
    assert reply.text.endswith(IN_CHINESE)


def test_an_english_question_the_english_article_answers_is_not_sent_across(app, bilingual_help_center):
    reply = answer("How do I reset my password?")
    assert reply.kind == "answer" and reply.source is not None
    assert reply.source.url.endswith("reset-password") and not reply.source.url.endswith("zh-reset-password")
    assert IN_CHINESE not in reply.text


@pytest.mark.parametrize("question", ["明天上海的天气怎么样？", "推荐一部好看的电影", "红烧肉怎么做？"])
def test_an_off_topic_chinese_question_is_not_answered(app, bilingual_help_center, question):
    reply = answer(question)
    assert reply.kind != "answer", (reply.source, reply.confidence)


def test_warm_up_fits_the_multilingual_model_only_for_a_help_center_with_chinese_articles(app, help_center):
    from bot.knowledge import second_knowledge, warm_up

    warm_up(app).join(120)
    assert second_knowledge(app).model is None  # English only: the multilingual model is never asked
    _publish("zh-refunds", "zh-two-factor", "zh-reset-password")
    warm_up(app).join(120)
    assert second_knowledge(app).model is not None


def test_a_question_its_own_language_covers_closely_costs_no_multilingual_encode(app, bilingual_help_center):
    from knowledge_index.multilingual import MultilingualEmbedder

    answer("Can I get my money back?")  # the models are fitted and loaded before counting
    asked: list[str] = []
    encode = MultilingualEmbedder.encode

    def counted(self, texts, *args, **kwargs):  # the real encode, counted
        asked.extend(texts)
        return encode(self, texts, *args, **kwargs)

    MultilingualEmbedder.encode = counted  # type: ignore[method-assign]
    try:
        # One of the English article's own example questions: that article is the answer, in English.
        close = answer("How do I reset my password?")
        assert close.kind == "answer" and close.source is not None and close.source.url.endswith("/reset-password")
        assert asked == []
        # A Chinese question is ranked by the multilingual model.
        answer("我忘了密码，怎么重新设置？")
        assert asked == ["我忘了密码，怎么重新设置？"]
    finally:
        MultilingualEmbedder.encode = encode  # type: ignore[method-assign]
