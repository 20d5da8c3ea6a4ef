"""Interests: a customer's main topics, from the words of what they wrote (posts, ideas, chats) and the
categories and tags those live in. Computed with the segments (a job), stored on the profile, read on view."""
from __future__ import annotations

import re
from collections import Counter, defaultdict

from sqlalchemy import select

from community.extensions import db
from community.markup import plain_text
from community.models import ChatMessage, Conversation, ForumCategory, Idea, IdeaComment, Reply, Thread

TOP_TOPICS = 6
MAX_TEXTS = 200  # per customer and source: the newest tell enough
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)
# Words that say nothing about a topic in support and product talk.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
few for from further get gets getting got had hadn't has hasn't have haven't having he her here hers herself
him himself his how i if in into is isn't it it's its itself just let's like make me more most much must my
myself need no nor not now of off on once one only or other ought our ours ourselves out over own please same
she should shouldn't so some such than thank thanks that that's the their theirs them themselves then there
there's these they this those through to too under until up use used using very want was wasn't way we well
were weren't what when where which while who whom why will with won't would wouldn't yes yet you your yours
yourself would really still even every something anything thing things lot would'nt i'm i've i'd we're
we've you're they're isn't hi hello there's able already always another around back best better could'nt
feature app work works working way ways time new add added adding option options possible maybe know
first last next day days today tomorrow yesterday week month year every see look try tried
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def keywords(texts: list[str]) -> Counter[str]:
    """Word counts of texts without stop words (each text counts a word once)."""
    counts: Counter[str] = Counter()
    for text in texts:
        words = {w.lower().strip("'-") for w in _WORD.findall(text)}
        counts.update(w for w in words if w not in STOPWORDS and len(w) > 2)
    return counts


def interests_for(user_ids: list[int]) -> dict[int, list[str]]:
    """Each customer's main topics: categories they wrote in (weighted) and their most repeated words."""
    if not user_ids:
        return {}
    texts: dict[int, list[str]] = defaultdict(list)
    places: dict[int, Counter[str]] = defaultdict(Counter)
    for start in range(0, len(user_ids), 900):
        chunk = user_ids[start:start + 900]
        for uid, title, body, category in db.session.execute(
                select(Idea.author_id, Idea.title, Idea.body, Idea.category).where(Idea.author_id.in_(chunk))):
            texts[uid].append(f"{title} {plain_text(body or '')[:500]}")
            if category:
                places[uid][category] += 2
        for uid, body in db.session.execute(select(IdeaComment.author_id, IdeaComment.body).where(
                IdeaComment.author_id.in_(chunk), IdeaComment.deleted_at.is_(None))):
            texts[uid].append(plain_text(body)[:500])
        for uid, title, body, category in db.session.execute(
                select(Thread.author_id, Thread.title, Thread.body, ForumCategory.name)
                .join(ForumCategory, ForumCategory.id == Thread.category_id)
                .where(Thread.author_id.in_(chunk), Thread.deleted_at.is_(None))):
            texts[uid].append(f"{title} {plain_text(body or '')[:500]}")
            places[uid][category.lower()] += 2
        for uid, body in db.session.execute(select(Reply.author_id, Reply.body).where(
                Reply.author_id.in_(chunk), Reply.deleted_at.is_(None))):
            texts[uid].append(plain_text(body)[:500])
        for uid, text in db.session.execute(
                select(Conversation.user_id, ChatMessage.text).join(Conversation, Conversation.id == ChatMessage.conversation_id)
                .where(Conversation.user_id.in_(chunk), ChatMessage.role == "customer")
                .order_by(ChatMessage.id.desc())):
            if len(texts[uid]) < MAX_TEXTS * 5:
                texts[uid].append(text[:500])
    out: dict[int, list[str]] = {}
    for uid in user_ids:
        counts = keywords(texts.get(uid, [])[:MAX_TEXTS * 5])
        counts.update(places.get(uid, Counter[str]()))
        # A word said once is noise unless it is all there is.
        ranked = [w for w, c in counts.most_common(TOP_TOPICS * 2) if c > 1] or [w for w, _c in counts.most_common(3)]
        out[uid] = ranked[:TOP_TOPICS]
    return out
