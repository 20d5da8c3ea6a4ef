"""The bot learns from its answers: a confirmed answer teaches the article the customer's wording.

A question the bot answered and the customer confirmed (thumbs up), or one staff linked to an
article from a knowledge gap (bot.capture.link_gap_to_article), becomes one of the article's
alternative questions: indexed at once, so the next customer who asks it that way is answered, and
listed in the help-center editor, where staff review and remove what should not be there.
"""
from __future__ import annotations

from collections.abc import Iterable

from community.extensions import db
from community.kb import services as kb
from community.models import Article, ArticleStatus


def _new_questions(article: Article, questions: Iterable[str]) -> list[str]:
    known = {q.casefold() for q in article.questions or []} | {article.title.casefold()}
    out: list[str] = []
    for q in questions:
        q = " ".join(q.split())
        if q and len(q) <= kb.MAX_QUESTION and q.casefold() not in known:
            known.add(q.casefold())
            out.append(q)
    # Never crowd out what staff wrote: learning stops at the article's question limit.
    return out[: max(0, kb.MAX_QUESTIONS - len(article.questions or []))]


def learn_question(article: Article, question: str) -> bool:
    """Teach a published article one confirmed wording; False when it already knows it (or is full)."""
    return learn_confirmed_answers([(article.id, question)]) == 1


def learn_confirmed_answers(confirmed: Iterable[tuple[int, str]]) -> int:
    """Teach each article its confirmed wordings, re-indexing each article once; returns how many were new."""
    by_article: dict[int, list[str]] = {}
    for article_id, question in confirmed:
        by_article.setdefault(article_id, []).append(question)
    learned = 0
    for article_id, questions in by_article.items():
        article = db.session.get(Article, article_id)
        if article is None or article.status is not ArticleStatus.published:
            continue
        new = _new_questions(article, questions)
        if new:
            kb.add_questions(article, new)
            learned += len(new)
    return learned
