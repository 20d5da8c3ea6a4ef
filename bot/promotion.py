"""Co-created knowledge: questions the bot could not answer go to the community, and the community's
accepted answers come back as help articles.

The loop: the bot abstains (or a customer thumbs an answer down) -> the customer asks the community
from the chat and the new thread joins that knowledge gap -> a reply is accepted -> staff or the
asker propose it for the help center (a draft article: question and answer as one unit, crediting
the answerer) -> staff publish it: indexed at once, the thread's own answer document withdrawn, the
gaps closed and everyone who asked told. Services flush; the caller commits, and a failure anywhere
rolls the whole step back, so the draft and the gaps stay as they were.
"""
from __future__ import annotations

import re
import secrets
from collections import defaultdict
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot import capture
from bot.row_ids import parse_row_id
from community.errors import Conflict, Forbidden, NotFound
from community.extensions import db
from community.forum import services as forum
from community.forum.services import can_propose, linked_gaps, promoted_article
from community.hooks import AskCommunitySource, ThreadPrefill, article_saved, register_ask_community
from community.kb import services as kb
from community.markup import plain_text, shorten
from community.mentions import MENTION_RE
from community.models import (
    Article,
    ArticleSource,
    ArticleStatus,
    ChatMessage,
    GapStatus,
    GapVariant,
    KbCategory,
    KnowledgeGap,
    Role,
    Thread,
    User,
)
from community.notifications.services import notify

# Room left in a thread title for the customer's own words; forum titles hold 200 characters.
MAX_PREFILL_TITLE = forum.MAX_TITLE


def own_bot_message(user: User | None, key: str | None, message_id: object) -> ChatMessage | None:
    """The bot message, when it belongs to one of the visitor's own conversations; else None.

    A conversation is the visitor's when it is their account's, or still anonymous and bound to
    their browser session's chat key (someone who chatted first and signed in to post).
    """
    message_id = parse_row_id(message_id)
    if message_id is None:
        return None
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.role != "bot":
        return None
    conversation = message.conversation
    if user is not None and conversation.user_id == user.id:
        return message
    if (conversation.user_id is None and key and conversation.session_key
            and secrets.compare_digest(conversation.session_key, key)):
        return message
    return None


def _title(question: str) -> str:
    question = " ".join(question.split())
    return shorten(question, MAX_PREFILL_TITLE)


def _link_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _quoted_answer(message: ChatMessage) -> str:
    """The bot's cited passage quoted for peers to correct, with a link to the article it came from."""
    reply = message.payload or {}
    source = reply.get("source") or {}
    passage = str(reply.get("passage") or "").strip()
    title = str(source.get("title") or "")
    url = str(source.get("url") or "")
    if url.startswith("/") and not url.startswith("//") and title:
        cited = f"[{_link_text(title)}]({url})"
    else:
        cited = title or _("the help center")
    parts = [_("The support bot answered with this passage from %(article)s, but it did not help me:", article=cited)]
    if passage:
        parts.append("\n".join(f"> {line}" if line.strip() else ">" for line in passage.splitlines()))
    parts.append(_("Can someone correct or complete this answer?"))
    return "\n\n".join(parts)


def ask_community_prefill(user: User | None, key: str | None, message_id: object) -> ThreadPrefill | None:
    """The thread a customer is about to post from a bot reply of theirs: the question as title; as body
    the question (the bot could not answer) or the bot's quoted answer (it answered badly). None for a
    message that is not theirs."""
    message = own_bot_message(user, key, message_id)
    if message is None or not (message.question or "").strip():
        return None
    question = " ".join((message.question or "").split())
    body = question
    if message.reply_kind == "answer":
        body = f"{question}\n\n{_quoted_answer(message)}"
    return ThreadPrefill(message.id, _title(question), body)


def link_thread_to_message(user: User | None, key: str | None, thread: Thread, message_id: object) -> KnowledgeGap | None:
    """Link a thread just posted from a bot reply to the open gap that reply started (abstain or
    thumbs-down); a message that is not the poster's, or a gap another live thread already holds,
    links nothing. The gap is found from the message, never from an id the browser sent."""
    message = own_bot_message(user, key, message_id)
    if message is None:
        return None
    gap = db.session.scalar(
        select(KnowledgeGap).join(GapVariant, GapVariant.gap_id == KnowledgeGap.id)
        .where(GapVariant.message_id == message.id).order_by(GapVariant.id).limit(1)
    )
    if gap is None or gap.status is not GapStatus.open:
        return None
    if gap.thread is not None and not gap.thread.is_deleted and gap.thread_id != thread.id:
        return None
    gap.thread_id = thread.id
    db.session.flush()
    return gap


_FENCE = re.compile(r"(^```.*?^```[^\n]*$|^~~~.*?^~~~[^\n]*$)", re.M | re.S)
# Forum chatter that opens or closes a reply and means nothing in a help article.
_CHATTER = re.compile(
    r"^(hi|hey|hello|thanks?( you)?|thx|cheers|hope (this|that|it) helps|glad (i could|to) help|good luck"
    r"|you'?re welcome|no problem|np|\+1|edit:?)\b[^\n]{0,60}$",
    re.I,
)


def _without_mention(text: str) -> str:
    # "@Ana, try this" reads as "Try this" in an article; a mention inside a sentence keeps its name.
    text = re.sub(r"(^|\n)\s*@\w[\w.\-]*[,:]?\s*(\w)", lambda m: m.group(1) + m.group(2).upper(), text)
    return MENTION_RE.sub(lambda m: m.group(1), text)


def article_markdown(answer: str) -> str:
    """An accepted forum answer as help-article Markdown: paragraphs and code blocks kept, @mentions
    and the greetings and thanks around the answer left out."""
    parts = _FENCE.split((answer or "").strip())
    out: list[str] = []
    for n, part in enumerate(parts):
        if n % 2:  # a fenced code block: verbatim
            out.append(part)
            continue
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", part) if p.strip()]
        if n == 0:
            while paragraphs and _CHATTER.match(paragraphs[0]):
                paragraphs.pop(0)
        if n == len(parts) - 1:
            while paragraphs and _CHATTER.match(paragraphs[-1]):
                paragraphs.pop()
        out.append("\n\n".join(_without_mention(p) for p in paragraphs))
    return "\n\n".join(p for p in out if p.strip())


def help_center_category(thread: Thread) -> KbCategory | None:
    """The help-center category of the published articles closest to the thread (its stored vectors)."""
    from community import search

    matches = search.related_documents("thread", thread.id, source_types=("article",), k=5, min_score=0.3,
                                       filters={"visibility": "public"})
    votes: dict[str, float] = defaultdict(float)
    for match in matches:
        slug = match.meta.get("category")
        if slug:
            votes[str(slug)] += match.score
    if not votes:
        return None
    best = max(votes, key=lambda slug: votes[slug])
    return db.session.scalar(select(KbCategory).where(KbCategory.slug == best))


def promoted_body(thread: Thread) -> str:
    """The article text: the question, who answered, and the accepted answer, as one unit.

    The opening paragraph is the question; indexing puts it at the start of every passage.
    """
    answer = thread.accepted_reply
    assert answer is not None
    question = plain_text(thread.body) or thread.title
    name = answer.author.display_name if answer.author else _("a community member")
    label, credit = _("Question:"), _("Answered by %(name)s in the community", name=name)
    discussion = _("Read the discussion")
    return (f"**{label}** {question}\n\n"
            f"*{credit}* · [{discussion}]({forum.thread_link(thread)})\n\n"
            f"{article_markdown(answer.body)}\n")


def propose_article(actor: User, thread: Thread) -> Article:
    """Turn the thread's accepted answer into a draft help article for staff to review; proposing
    again returns the same article."""
    if not can_propose(actor, thread):
        raise Forbidden(_("Only the person who asked or staff can propose this thread for the help center."))
    if thread.is_deleted:
        raise NotFound(_("There is no such thread."))
    existing = promoted_article(thread)
    if existing is not None:
        return existing
    answer = thread.accepted_reply
    if answer is None or answer.is_deleted or answer.hidden:
        raise Conflict(_("This thread has no accepted answer yet. Accept the reply that solved it, then propose it."))
    questions = [thread.title]
    for gap in linked_gaps(thread):
        questions.extend(capture.gap_questions(gap))
    try:
        with db.session.begin_nested():
            article = kb.create_article(
                thread.title, promoted_body(thread), questions=[q[: kb.MAX_QUESTION] for q in questions],
                category=help_center_category(thread), status=ArticleStatus.draft, source=ArticleSource.community, author=actor,
                credited_user=answer.author, origin_thread_id=thread.id,
            )
    except IntegrityError:  # a second click proposed it at the same moment
        existing = promoted_article(thread)
        if existing is None:
            raise
        return existing
    staff = db.session.scalars(select(User.id).where(User.role.in_((Role.staff, Role.admin)), User.active.is_(True)))
    notify(list(staff), "article.proposed",
           _l("A community answer was proposed for the help center: %(title)s", title=article.title),
           link=f"/help/manage/{article.id}/edit", actor=actor)
    return article


def sync_origin_thread(article: Article) -> None:
    """Keep the origin thread's own answer document in step: withdrawn while the article is published
    (the bot would otherwise hesitate between two copies of one answer), back when it is not."""
    if article.origin_thread is not None:
        forum.sync_index(article.origin_thread)


def publish_article(article: Article, staff: User | None) -> int:
    """Publish an article: indexed at once; the open gaps waiting on it or on its origin thread closed
    and their askers told; a promoted answer's answerer and asker told. Returns how many gaps closed.

    Flushes only: on any failure the caller rolls back and the draft and its gaps stay as they were.
    """
    first_publish = not article.is_published
    kb.update_article(article, status=ArticleStatus.published)
    return after_article_saved(article, staff=staff, first_publish=first_publish)


def after_article_saved(article: Article, *, staff: User | None, first_publish: bool) -> int:
    """What the bot does when an article is saved (community.hooks.article_saved): close the gaps
    waiting on it once it is published, keep its origin thread's answer document in step, and on
    its first publication tell the answerer and the asker. Returns how many gaps closed."""
    closed = capture.close_gaps_for(article, staff)
    sync_origin_thread(article)
    thread = article.origin_thread
    if first_publish and thread is not None:
        link = kb.article_url(article)
        if article.credited_user_id:
            notify([article.credited_user_id], "article.credited",
                   _l("Your answer is now a help article: %(title)s", title=article.title), link=link, actor=staff)
        if thread.author_id and thread.author_id != article.credited_user_id:
            notify([thread.author_id], "article.promoted",
                   _l("The answer to your question is now a help article: %(title)s", title=article.title),
                   link=link, actor=staff)
    return closed


def _on_article_saved(article: Article, **details: Any) -> None:
    after_article_saved(article, staff=details.get("staff"), first_publish=bool(details.get("first_publish")))


def register() -> None:
    """Connect the bot to the community's hooks (called by create_app)."""
    article_saved.connect(_on_article_saved)
    register_ask_community(AskCommunitySource(prefill=ask_community_prefill, link=link_thread_to_message))
