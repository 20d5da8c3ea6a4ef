"""Hundreds of XSS payloads through every surface that stores user text, checked in a real browser.

The corpus is tests/security/xss_payloads.txt. Payloads are batched many to a post so a few page loads
cover them all. On each page: no dialog fires, and no element carries an on* attribute, a javascript:,
vbscript: or data:text URL, or is an iframe, object, embed or a script that is not one of our files.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from community.extensions import db
from community.forum import services as forum
from community.ideas import services as ideas
from community.models import (
    AnswerFeedback,
    ChatMessage,
    Conversation,
    ConversationStatus,
    CustomerProfile,
    utcnow,
)
from tests.browser.helpers import login
from tests.forum.conftest import category  # noqa: F401,F811  (the corpus posts threads in a category)

CORPUS = [line.replace("\\n", "\n") for line in
          (Path(__file__).parents[1] / "security" / "xss_payloads.txt").read_text().splitlines() if line and not line.startswith("#")]

FIND_DANGER = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (['iframe', 'object', 'embed', 'frame', 'frameset', 'applet', 'base', 'meta'].includes(tag) && !el.closest('head')) {
      bad.push(tag);
    }
    if (tag === 'script' && !(el.getAttribute('src') || '').startsWith('/static/')) bad.push('script ' + el.outerHTML.slice(0, 80));
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase(), value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(tag + ' ' + name);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'background', 'data', 'poster'].includes(name) &&
          (value.startsWith('javascript:') || value.startsWith('vbscript:') || value.startsWith('data:text'))) {
        bad.push(tag + ' ' + name + '=' + value.slice(0, 40));
      }
    }
  }
  return bad;
}"""


def _batches(items: list[str], limit: int) -> list[str]:
    batches, current = [], ""
    for item in items:
        if len(current) + len(item) + 2 > limit:
            batches.append(current)
            current = ""
        current += item + "\n\n"
    return batches + ([current] if current else [])


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.app_config(FORUM_NEW_POSTS_PER_HOUR=10**6, FORUM_POSTS_PER_HOUR=10**6, FORUM_NEW_ACCOUNT_POSTS=0,
                        FORUM_NEW_ACCOUNT_HOURS=0, FORUM_NEW_MAX_LINKS=10**6, FORUM_NEW_MAX_MENTIONS=10**6,
                        RATELIMIT_ENABLED=False)
def test_no_payload_runs_on_any_surface(app, live_server, page, create_user, category):  # noqa: F811
    assert len(CORPUS) >= 300
    author = create_user(email="author@example.com", display_name=CORPUS[3][:80])
    author.created_at = utcnow() - timedelta(days=30)
    names = [create_user(email=f"n{i}@example.com", display_name=p[:80]) for i, p in enumerate(CORPUS[10:60:10])]
    staff = create_user(email="staff@example.com", role="staff", display_name="Sam Staff")

    idea_ids = []
    for batch in _batches(CORPUS, ideas.MAX_BODY):
        idea = ideas.submit_idea(author, "An idea with many payloads", batch, limit_rate=False)
        idea_ids.append(idea.id)
    for batch in _batches(CORPUS, ideas.MAX_COMMENT):
        ideas.add_comment(db.session.get(type(idea), idea_ids[0]), names[0], batch, notify_users=False, limit_rate=False)
    for payload in CORPUS[::15]:  # titles are short: a sample, all listed on one page
        ideas.submit_idea(author, ("T " + payload)[: ideas.MAX_TITLE], "", limit_rate=False)
    thread = forum.create_thread(author, category, "A thread with many payloads", CORPUS[0], [])
    replies = [forum.post_reply(names[1], thread, batch) for batch in _batches(CORPUS, forum.MAX_BODY)]
    forum.accept_answer(author, thread, replies[-1])  # shown again above the thread's replies
    for payload in CORPUS[::40]:
        forum.create_thread(author, category, ("Thread " + payload)[: forum.MAX_TITLE], payload, [])
    # Chat: the customer's own history and the staff console's transcript show stored message text, and the
    # console shows the customer's company and plan, the question the bot answered and thumbs-down comments.
    db.session.add(CustomerProfile(user_id=author.id, company=CORPUS[5][:200], plan=CORPUS[7][:80]))
    conversation = Conversation(user_id=author.id, public_id="xss-corpus", status=ConversationStatus.waiting_staff)
    db.session.add(conversation)
    db.session.flush()
    db.session.add_all(ChatMessage(conversation_id=conversation.id, role="customer", text=p) for p in CORPUS[::6])
    for p in CORPUS[1::25]:
        answer = ChatMessage(conversation_id=conversation.id, role="bot", reply_kind="answer", text=p, question=p,
                             confidence=0.9)
        db.session.add(answer)
        db.session.flush()
        db.session.add(AnswerFeedback(message_id=answer.id, helpful=False, reason="incorrect", comment=p, question=p))
    db.session.commit()

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, live_server, author.email)
    paths = [f"/ideas/{i}" for i in idea_ids] + ["/ideas/", f"/forum/t/{thread.id}", f"/forum/c/{category.slug}",
                                                 "/forum/", "/chat/"]
    found = {}
    for path in paths:
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        bad = page.evaluate(FIND_DANGER)
        if bad:
            found[path] = bad[:5]
    page.context.clear_cookies()
    login(page, live_server, staff.email)
    for path in ["/customers/", f"/ideas/{idea_ids[0]}", "/support/console", "/support/console?c=xss-corpus"]:
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        bad = page.evaluate(FIND_DANGER)
        if bad:
            found[path] = bad[:5]
    # The last page is the handed-off conversation: its payload-carrying context and verdicts were rendered.
    assert page.locator(".console-context").count() == 1 and page.locator(".console-verdict-down").count() >= 2
    assert dialogs == [] and found == {}
